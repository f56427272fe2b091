package rollout

import (
	"reflect"
	"testing"
	"time"

	"roomkit/ota"
)

func ptr[T any](v T) *T { return &v }

func TestResolve(t *testing.T) {
	night := win("22:00", "02:00")
	for _, c := range []struct {
		name   string
		layers []Layer
		want   Policy
	}{
		{"nothing set", nil, DefaultPolicy},
		{"empty layers inherit", []Layer{{}, {Rings: []int{}}, {}}, DefaultPolicy},
		{"fleet sets everything", []Layer{{Channel: ptr("beta"), Rings: []int{5, 100}, Soak: ptr(time.Hour), Window: &night, Paused: ptr(true), FailPercent: ptr(20)}},
			Policy{Channel: "beta", Rings: []int{5, 100}, Soak: time.Hour, Window: night, Paused: true, FailPercent: 20}},
		{"room beats group beats fleet, field by field", []Layer{
			{Channel: ptr("beta"), Soak: ptr(48 * time.Hour), FailPercent: ptr(5)}, // fleet
			{Channel: ptr("stable"), Window: &night},                               // group
			{FailPercent: ptr(0)},                                                  // room: zero is a value, not "inherit"
		}, Policy{Channel: "stable", Rings: []int{10, 50, 100}, Soak: 48 * time.Hour, Window: night, FailPercent: 0}},
		{"a room unpauses what its group paused", []Layer{{}, {Paused: ptr(true)}, {Paused: ptr(false)}}, DefaultPolicy},
		{"a group pauses", []Layer{{}, {Paused: ptr(true)}, {}},
			Policy{Channel: "stable", Rings: []int{10, 50, 100}, Soak: 24 * time.Hour, Window: ota.DefaultWindow, Paused: true, FailPercent: 10}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := Resolve(c.layers...); !reflect.DeepEqual(got, c.want) {
				t.Errorf("Resolve = %+v, want %+v", got, c.want)
			}
		})
	}
}

// TestResolveSharesNothing: changing a resolved policy's rings changes
// neither DefaultPolicy nor the layer they came from.
func TestResolveSharesNothing(t *testing.T) {
	p := Resolve()
	p.Rings[0] = 99
	if DefaultPolicy.Rings[0] != 10 {
		t.Fatalf("Resolve returned DefaultPolicy's rings: now %v", DefaultPolicy.Rings)
	}
	l := Layer{Rings: []int{1, 100}}
	q := Resolve(l)
	q.Rings[0] = 50
	if l.Rings[0] != 1 {
		t.Fatalf("Resolve returned the layer's rings: now %v", l.Rings)
	}
}
