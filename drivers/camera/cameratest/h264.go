package cameratest

// H264 writes a real, decodable H.264 stream (Annex B, Constrained
// Baseline) without an encoder library: keyframes are IDR pictures of
// uncompressed I_PCM macroblocks, other frames are P pictures in which
// every macroblock is skipped (the picture repeats). Large but exact, it
// has the shape of a camera's stream — SPS, PPS and IDR together, then
// small P frames — for testing passthrough and keyframe handling.
type H264 struct {
	w, h     int // multiples of 16
	frameNum int
	idrID    int
}

// NewH264 starts a stream of w×h pictures; both must be multiples of 16.
func NewH264(w, h int) *H264 {
	if w%16 != 0 || h%16 != 0 || w <= 0 || h <= 0 {
		panic("cameratest: H.264 picture size must be a positive multiple of 16")
	}
	return &H264{w: w, h: h}
}

// Frame returns one access unit. A keyframe carries SPS, PPS and an IDR
// picture of the I420 frame; other frames repeat the last picture.
func (e *H264) Frame(i420 []byte, key bool) []byte {
	var out []byte
	if key {
		e.frameNum = 0
		out = nal(out, 0x67, e.sps())
		out = nal(out, 0x68, e.pps())
		out = nal(out, 0x65, e.idr(i420))
		e.idrID = (e.idrID + 1) % 65536
	} else {
		e.frameNum = (e.frameNum + 1) % 16
		out = nal(out, 0x41, e.skipped())
	}
	return out
}

func (e *H264) sps() []byte {
	var b bitWriter
	b.u(8, 66)   // profile_idc: Baseline
	b.u(8, 0xc0) // constraint_set0 and set1: Constrained Baseline
	b.u(8, 40)   // level_idc 4.0: enough for 1080p30
	b.ue(0)      // seq_parameter_set_id
	b.ue(0)      // log2_max_frame_num_minus4: frame_num is 4 bits
	b.ue(2)      // pic_order_cnt_type 2: output order is decoding order
	b.ue(1)      // max_num_ref_frames
	b.u(1, 0)    // gaps_in_frame_num_value_allowed_flag
	b.ue(e.w/16 - 1)
	b.ue(e.h/16 - 1)
	b.u(1, 1) // frame_mbs_only_flag
	b.u(1, 1) // direct_8x8_inference_flag
	b.u(1, 0) // frame_cropping_flag
	b.u(1, 0) // vui_parameters_present_flag
	return b.trailing()
}

func (e *H264) pps() []byte {
	var b bitWriter
	b.ue(0)   // pic_parameter_set_id
	b.ue(0)   // seq_parameter_set_id
	b.u(1, 0) // entropy_coding_mode_flag: CAVLC
	b.u(1, 0) // bottom_field_pic_order_in_frame_present_flag
	b.ue(0)   // num_slice_groups_minus1
	b.ue(0)   // num_ref_idx_l0_default_active_minus1
	b.ue(0)   // num_ref_idx_l1_default_active_minus1
	b.u(1, 0) // weighted_pred_flag
	b.u(2, 0) // weighted_bipred_idc
	b.se(0)   // pic_init_qp_minus26
	b.se(0)   // pic_init_qs_minus26
	b.se(0)   // chroma_qp_index_offset
	b.u(1, 1) // deblocking_filter_control_present_flag
	b.u(1, 0) // constrained_intra_pred_flag
	b.u(1, 0) // redundant_pic_cnt_present_flag
	return b.trailing()
}

func (e *H264) idr(i420 []byte) []byte {
	var b bitWriter
	b.ue(0)       // first_mb_in_slice
	b.ue(7)       // slice_type: I, all slices of the picture
	b.ue(0)       // pic_parameter_set_id
	b.u(4, 0)     // frame_num
	b.ue(e.idrID) // idr_pic_id
	b.u(1, 0)     // no_output_of_prior_pics_flag
	b.u(1, 0)     // long_term_reference_flag
	b.se(0)       // slice_qp_delta
	b.ue(1)       // disable_deblocking_filter_idc: off, PCM needs none
	w, h := e.w, e.h
	yp, up, vp := i420[:w*h], i420[w*h:w*h+w*h/4], i420[w*h+w*h/4:]
	for my := 0; my < h/16; my++ {
		for mx := 0; mx < w/16; mx++ {
			b.ue(25) // mb_type I_PCM
			b.align()
			for y := 0; y < 16; y++ {
				b.bytes(yp[(my*16+y)*w+mx*16 : (my*16+y)*w+mx*16+16])
			}
			for _, p := range [][]byte{up, vp} {
				for y := 0; y < 8; y++ {
					b.bytes(p[(my*8+y)*(w/2)+mx*8 : (my*8+y)*(w/2)+mx*8+8])
				}
			}
		}
	}
	return b.trailing()
}

func (e *H264) skipped() []byte {
	var b bitWriter
	b.ue(0) // first_mb_in_slice
	b.ue(5) // slice_type: P, all slices of the picture
	b.ue(0) // pic_parameter_set_id
	b.u(4, e.frameNum)
	b.u(1, 0)                     // num_ref_idx_active_override_flag
	b.u(1, 0)                     // ref_pic_list_modification_flag_l0
	b.u(1, 0)                     // adaptive_ref_pic_marking_mode_flag
	b.se(0)                       // slice_qp_delta
	b.ue(1)                       // disable_deblocking_filter_idc
	b.ue((e.w / 16) * (e.h / 16)) // mb_skip_run: the whole picture
	return b.trailing()
}

// nal appends a start code, the NAL header and the payload with emulation
// prevention bytes.
func nal(out []byte, header byte, rbsp []byte) []byte {
	out = append(out, 0, 0, 0, 1, header)
	zeros := 0
	for _, c := range rbsp {
		if zeros >= 2 && c <= 3 {
			out = append(out, 3)
			zeros = 0
		}
		out = append(out, c)
		if c == 0 {
			zeros++
		} else {
			zeros = 0
		}
	}
	return out
}

type bitWriter struct {
	buf  []byte
	cur  byte
	bits int // bits used in cur
}

func (b *bitWriter) bit(v int) {
	b.cur = b.cur<<1 | byte(v&1)
	b.bits++
	if b.bits == 8 {
		b.buf = append(b.buf, b.cur)
		b.cur, b.bits = 0, 0
	}
}

func (b *bitWriter) u(n, v int) {
	for i := n - 1; i >= 0; i-- {
		b.bit(v >> i)
	}
}

// ue writes Exp-Golomb.
func (b *bitWriter) ue(v int) {
	v++
	n := 0
	for x := v; x > 1; x >>= 1 {
		n++
	}
	b.u(n, 0)
	b.u(n+1, v)
}

func (b *bitWriter) se(v int) {
	if v > 0 {
		b.ue(2*v - 1)
	} else {
		b.ue(-2 * v)
	}
}

func (b *bitWriter) align() {
	for b.bits != 0 {
		b.bit(0)
	}
}

func (b *bitWriter) bytes(p []byte) { b.buf = append(b.buf, p...) } // aligned only

// trailing writes rbsp_trailing_bits and returns the RBSP.
func (b *bitWriter) trailing() []byte {
	b.bit(1)
	b.align()
	return b.buf
}
