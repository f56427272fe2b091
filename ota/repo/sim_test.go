package repo

import (
	"bytes"
	"testing"
)

func TestSimImage(t *testing.T) {
	for _, tc := range []struct {
		s    SimImage
		size int64
		want int
	}{
		{SimImage{Version: "0.2.0"}, 1 << 20, 1 << 20},
		{SimImage{Version: "0.3.0", Unhealthy: true}, 0, len(`{"roomkit_sim_image":1,"version":"0.3.0","unhealthy":true}` + "\n")},
	} {
		var a, b bytes.Buffer
		if err := WriteSimImage(&a, tc.s, tc.size); err != nil {
			t.Fatal(err)
		}
		WriteSimImage(&b, tc.s, tc.size)
		if a.Len() != tc.want || !bytes.Equal(a.Bytes(), b.Bytes()) {
			t.Errorf("%+v: %d bytes (want %d), deterministic %v", tc.s, a.Len(), tc.want, bytes.Equal(a.Bytes(), b.Bytes()))
		}
		got, ok := ParseSimImage(a.Bytes())
		if tc.s.Format = 1; !ok || got != tc.s {
			t.Errorf("ParseSimImage = %+v %v, want %+v", got, ok, tc.s)
		}
	}
	if err := WriteSimImage(new(bytes.Buffer), SimImage{Version: "next"}, 0); err == nil {
		t.Error("a sim image with version next was written")
	}
	for _, head := range []string{"", "garbage", `{"roomkit_sim_image":2,"version":"0.2.0"}`, `{"roomkit_sim_image":1,"version":"v1"}`} {
		if s, ok := ParseSimImage([]byte(head)); ok {
			t.Errorf("ParseSimImage(%q) = %+v", head, s)
		}
	}
}

func FuzzParseSimImage(f *testing.F) {
	f.Add([]byte(`{"roomkit_sim_image":1,"version":"0.2.0","unhealthy":false}` + "\n\x00\x00"))
	f.Add([]byte("hsqs"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, ok := ParseSimImage(b)
		if !ok {
			return
		}
		var out bytes.Buffer
		if err := WriteSimImage(&out, s, 0); err != nil {
			t.Fatalf("a parsed header does not write back: %v", err)
		}
		if again, ok := ParseSimImage(out.Bytes()); !ok || again != s {
			t.Fatalf("round trip %+v → %+v", s, again)
		}
	})
}
