package v4l2

import "testing"

func TestFindH264XU(t *testing.T) {
	dev := []byte{18, 1, 0, 2, 0xef, 2, 1, 64, 0x6d, 0x04, 0x2d, 0x08, 0x11, 0, 0, 2, 1, 1}
	xu := func(unit byte, guid []byte) []byte {
		d := []byte{28, 0x24, 0x06, unit}
		d = append(d, guid...)
		return append(d, 3, 1, 1, 1, 2, 0xff, 0xff, 0)
	}
	other := []byte{0x6a, 0xd1, 0x49, 0x2c, 0xb8, 0x32, 0x85, 0x44, 0x3e, 0xa8, 0x64, 0x3a, 0x15, 0x23, 0x62, 0xf2}
	for _, tc := range []struct {
		name string
		desc []byte
		unit uint8
		ok   bool
	}{
		{"C920-like: another XU, then the H.264 one", append(append(append([]byte(nil), dev...), xu(9, other)...), xu(12, h264XUGUID)...), 12, true},
		{"no H.264 unit", append(append([]byte(nil), dev...), xu(9, other)...), 0, false},
		{"corrupt length", append(append([]byte(nil), dev...), 0, 0x24, 6), 0, false},
		{"truncated", append(append([]byte(nil), dev...), xu(12, h264XUGUID)[:20]...), 0, false},
	} {
		if unit, ok := findH264XU(tc.desc); unit != tc.unit || ok != tc.ok {
			t.Errorf("%s: unit %d, %v; want %d, %v", tc.name, unit, ok, tc.unit, tc.ok)
		}
	}
}
