package simulator

import (
	"encoding/json"
	"image"
	"testing"
)

func TestParseTap(t *testing.T) {
	sz := image.Pt(1920, 1080)
	tests := []struct {
		body string
		want image.Point
		ok   bool
	}{
		{`{"x":0,"y":0}`, image.Pt(0, 0), true},
		{`{"x":1919,"y":1079}`, image.Pt(1919, 1079), true},
		{` {"y": 5, "x": 7} `, image.Pt(7, 5), true},
		{`{"x":1920,"y":0}`, image.Point{}, false},
		{`{"x":0,"y":1080}`, image.Point{}, false},
		{`{"x":-0.0,"y":0}`, image.Point{}, false},
		{`{"x":true,"y":0}`, image.Point{}, false},
		{`[1,2]`, image.Point{}, false},
		{`{"x":1,"y":2`, image.Point{}, false},
		{`{"x":99999999999999999999,"y":0}`, image.Point{}, false},
	}
	for _, tt := range tests {
		got, err := parseTap([]byte(tt.body), sz)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseTap(%q) = %v, %v; want %v, ok=%v", tt.body, got, err, tt.want, tt.ok)
		}
	}
}

// FuzzParseTap checks that no body makes the parser panic or accept a
// point off the screen, and that accepted points survive a round trip.
func FuzzParseTap(f *testing.F) {
	for _, s := range []string{`{"x":1,"y":2}`, `{"x":-1,"y":2}`, `{"x":1.5}`, `{}`, `null`, `{"x":"3","y":"4"}`, ``} {
		f.Add([]byte(s))
	}
	sz := image.Pt(1280, 800)
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := parseTap(body, sz)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		if !p.In(image.Rectangle{Max: sz}) {
			t.Fatalf("parseTap(%q) accepted %v, off a %v screen", body, p, sz)
		}
		again, err := json.Marshal(map[string]int{"x": p.X, "y": p.Y})
		if err != nil {
			t.Fatal(err)
		}
		if q, err := parseTap(again, sz); err != nil || q != p {
			t.Fatalf("round trip of %v: %v, %v", p, q, err)
		}
	})
}
