package meeting

import (
	"slices"
	"testing"
)

func TestOrderTiles(t *testing.T) {
	cam := func(ids ...string) []Tile {
		var ts []Tile
		for _, id := range ids {
			ts = append(ts, Tile{Identity: id})
		}
		return ts
	}
	ids := func(ts []Tile) []string {
		var out []string
		for _, t := range ts {
			if t.ScreenShare {
				out = append(out, "screen:"+t.Identity)
			} else {
				out = append(out, t.Identity)
			}
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		tiles  []Tile
		recent []string
		want   []string
	}{
		{"nobody spoke: order kept", cam("a", "b", "c"), nil, []string{"a", "b", "c"}},
		{"speaker first", cam("a", "b", "c"), []string{"c"}, []string{"c", "a", "b"}},
		{"recent speakers in order", cam("a", "b", "c", "d"), []string{"d", "b"}, []string{"d", "b", "a", "c"}},
		{"unknown speaker ignored", cam("a", "b"), []string{"zz"}, []string{"a", "b"}},
		{
			"at most six cameras, a speaker beyond them comes in",
			cam("a", "b", "c", "d", "e", "f", "g", "h"), []string{"h"},
			[]string{"h", "a", "b", "c", "d", "e"},
		},
		{
			"shared screens after the cameras and not counted",
			append(cam("a", "b", "c", "d", "e", "f", "g"), Tile{Identity: "b", ScreenShare: true}),
			[]string{"g"},
			[]string{"g", "a", "b", "c", "d", "e", "screen:b"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ids(orderTiles(tc.tiles, tc.recent)); !slices.Equal(got, tc.want) {
				t.Errorf("order = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestNoteSpeakers(t *testing.T) {
	s := &Session{}
	for _, step := range []struct {
		speakers []string
		want     []string
	}{
		{[]string{"a"}, []string{"a"}},
		{[]string{"b", "c"}, []string{"b", "c", "a"}},
		{nil, []string{"b", "c", "a"}}, // silence keeps the order: tiles do not jump
		{[]string{"a"}, []string{"a", "b", "c"}},
	} {
		s.noteSpeakers(step.speakers)
		if got := s.recentSpeakers(); !slices.Equal(got, step.want) {
			t.Errorf("after %v speak: recent = %v, want %v", step.speakers, got, step.want)
		}
	}
}
