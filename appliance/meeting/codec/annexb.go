package codec

// NALUs calls fn for each NAL unit (without its start code) in an Annex B
// byte stream. Bytes before the first start code are ignored.
func NALUs(b []byte, fn func(nal []byte)) {
	start := -1
	for i := 0; i+2 < len(b); {
		if b[i] == 0 && b[i+1] == 0 && b[i+2] == 1 {
			if start >= 0 {
				end := i
				if end > start && b[end-1] == 0 {
					end-- // the leading zero of a 4-byte start code
				}
				if end > start {
					fn(b[start:end])
				}
			}
			i += 3
			start = i
			continue
		}
		i++
	}
	if start >= 0 && start < len(b) {
		fn(b[start:])
	}
}

// NAL unit types (ITU-T H.264 table 7-1) the kit cares about.
const (
	nalIDR = 5
	nalSPS = 7
)

// IsKeyframe reports whether an Annex B access unit holds an IDR slice,
// from which a decoder can start.
func IsKeyframe(au []byte) bool {
	key := false
	NALUs(au, func(nal []byte) {
		if nal[0]&0x1f == nalIDR {
			key = true
		}
	})
	return key
}
