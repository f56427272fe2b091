package alsa

import (
	"reflect"
	"testing"
)

func seq(from, n int) []int16 {
	s := make([]int16, n)
	for i := range s {
		s[i] = int16(from + i)
	}
	return s
}

func TestRingDropsOldest(t *testing.T) {
	tests := []struct {
		name        string
		size        int
		pushes      [][]int16
		wantDropped int
		want        []int16
	}{
		{"fits", 8, [][]int16{seq(1, 3), seq(4, 3)}, 0, seq(1, 6)},
		{"wraps exactly", 4, [][]int16{seq(1, 4)}, 0, seq(1, 4)},
		{"overflow keeps the newest", 4, [][]int16{seq(1, 3), seq(4, 3)}, 2, seq(3, 4)},
		{"one push larger than the ring", 4, [][]int16{seq(1, 10)}, 6, seq(7, 4)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := newRing(tt.size)
			dropped := 0
			for _, p := range tt.pushes {
				dropped += q.push(p, false)
			}
			got := make([]int16, 16)
			got = got[:q.pop(got)]
			if dropped != tt.wantDropped || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("dropped %d, read %v; want %d, %v", dropped, got, tt.wantDropped, tt.want)
			}
		})
	}
}

func TestRingWrapsAndTrims(t *testing.T) {
	q := newRing(5)
	var got []int16
	next := 1
	buf := make([]int16, 3)
	// Push and pop in steps that do not divide the ring, so every copy
	// wraps somewhere.
	for range 7 {
		next += q.pushSome(seq(next, 3))
		got = append(got, buf[:q.pop(buf[:2])]...)
	}
	for q.len() > 0 {
		got = append(got, buf[:q.pop(buf)]...)
	}
	if !reflect.DeepEqual(got, seq(1, next-1)) {
		t.Errorf("read %v, want 1..%d in order", got, next-1)
	}
	if n := q.pushSome(seq(0, 9)); n != 5 {
		t.Errorf("pushSome into an empty ring of 5 took %d", n)
	}
	if n := q.trim(2); n != 3 || q.len() != 2 {
		t.Errorf("trim(2) dropped %d leaving %d", n, q.len())
	}
	q.push(seq(1, 2), true)
	got = buf[:q.pop(buf)]
	if !reflect.DeepEqual(got, []int16{3, 4, 0}) {
		t.Errorf("after a muted push read %v, want [3 4 0]", got)
	}
}
