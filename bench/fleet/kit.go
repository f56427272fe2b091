package main

import (
	"math/rand/v2"
	"time"

	"roomkit/drivers"
	"roomkit/health"
	"roomkit/ota"
	"roomkit/portalapi"
	"roomkit/provisioning"
)

// habits are how often things happen to a room, per simulated day; the
// simulator turns them into chances per heartbeat at the kits' interval,
// so a replay of 24 hours makes a day's worth of each.
type habits struct {
	Interval       time.Duration // the kit's heartbeat interval (appliance: 15 s)
	MeetingsPerDay float64       // Meet Now presses
	UnplugsPerDay  float64       // a device unplugged for one heartbeat, then back (two room events)
	RestartsPerDay float64       // roomd restarting (one room event)
}

var defaultHabits = habits{Interval: 15 * time.Second, MeetingsPerDay: 8, UnplugsPerDay: 1, RestartsPerDay: 0.2}

// chance is the probability per heartbeat of something that happens
// perDay times a day.
func (h habits) chance(perDay float64) float64 {
	return min(1, perDay*h.Interval.Seconds()/(24*time.Hour).Seconds())
}

// kit is one simulated room kit: its identity, the kit's own portal
// client, and the little state its reports need. One goroutine drives a
// kit at a time.
type kit struct {
	n      int
	client *portalapi.Client
	roomID string
	tok    *portalapi.Token

	rnd     *rand.Rand
	tree    *health.Tree
	devices []drivers.Status
	simNow  time.Time // the kit's clock: advances one interval a heartbeat
	booted  time.Time
	// What the portal's answers said it takes (as the appliance's link
	// keeps them): the update report, and the remote fields.
	policySeen, actionsSeen bool
	lastRTT                 time.Duration
	unplugged               bool
}

func newKit(n int, id *provisioning.Identity, client *portalapi.Client, start time.Time) *kit {
	k := &kit{
		n:      n,
		client: client,
		rnd:    rand.New(rand.NewPCG(uint64(n), 0x0f1ee7)),
		simNow: start,
		booted: start,
		devices: []drivers.Status{
			{Kind: "camera", Name: "Synthetic camera", Present: true},
			{Kind: "speakerphone", Name: "Synthetic speakerphone", Present: true},
			{Kind: "display", Name: "Synthetic display", Present: true},
			{Kind: "input", Name: "Synthetic touch", Present: true},
		},
	}
	k.tree = k.healthTree()
	return k
}

func (k *kit) device(kind string) func() drivers.Status {
	return func() drivers.Status {
		for _, d := range k.devices {
			if d.Kind == kind {
				return d
			}
		}
		return drivers.Status{Kind: kind}
	}
}

// healthTree is the appliance's tree (appliance/health.go) over the
// simulated kit: the same checks, so the heartbeat carries a summary of
// the same shape and size.
func (k *kit) healthTree() *health.Tree {
	speaker := k.device("speakerphone")
	return health.NewTree(
		health.Network(func() ([]health.Interface, error) {
			return []health.Interface{{Name: "eth0", Up: true, Addrs: []string{"192.0.2.10"}}}, nil
		}).Then(
			health.Portal(func() health.PortalState {
				return health.PortalState{Connected: true, LastOK: k.simNow.Add(-k.lastRTT)}
			}).Then(
				health.Calendar(func() health.MeetingsState { return health.MeetingsState{LastOK: k.booted} }),
				health.Clock(func() (time.Duration, bool) { return k.client.MeasuredClockOffset() }),
			),
		),
		health.Device(health.NameDisplay, k.device("display")),
		health.Touch(func() (drivers.Status, bool) { return k.device("input")(), true }),
		health.Camera(func() health.CameraState {
			return health.CameraState{Device: k.device("camera")(), Watched: true, LastFrame: k.simNow, Since: k.booted}
		}),
		health.Speakerphone(speaker, func() string { return speaker().Error }, func() string { return "" }),
		health.AudioThread(func() bool { return false }),
		health.Storage(func() health.StorageState { return health.StorageState{Dir: "/perm"} },
			func(string) (health.Space, error) { return health.Space{Total: 4 << 30, Free: 3 << 30}, nil }),
		health.New(health.NameUpdates, func(time.Time) health.Result { return health.Pass("up to date") }),
	)
}

// step advances the kit's clock by one heartbeat interval and lets the
// day's habits happen: a device comes back or is unplugged, roomd
// restarts. It reports whether the room presses Meet Now this time.
func (k *kit) step(h habits) (meet bool) {
	k.simNow = k.simNow.Add(h.Interval)
	sp := &k.devices[1]
	switch {
	case k.unplugged:
		sp.Present, sp.Error, k.unplugged = true, "", false
	case k.rnd.Float64() < h.chance(h.UnplugsPerDay):
		sp.Present, sp.Error, k.unplugged = false, "unplugged", true
	}
	if k.rnd.Float64() < h.chance(h.RestartsPerDay) {
		k.booted = k.simNow
	}
	return h.MeetingsPerDay > 0 && k.rnd.Float64() < h.chance(h.MeetingsPerDay)
}

// report is the heartbeat the kit sends now, with the fields the
// portal's answers asked for, as the appliance's link adds them.
func (k *kit) report() portalapi.Report {
	hr := k.tree.Evaluate(k.simNow).Summary()
	r := portalapi.Report{
		State:         "ready",
		Version:       "0.1.0",
		UptimeSeconds: int64(k.simNow.Sub(k.booted) / time.Second),
		Devices:       append([]drivers.Status(nil), k.devices...),
		Health:        &hr,
	}
	if k.policySeen {
		r.Update = &ota.Report{Status: ota.Status{State: ota.Idle}, Channel: "stable"}
	}
	if k.actionsSeen {
		r.LatencyMS = k.lastRTT.Milliseconds()
	}
	return r
}

// answered takes what a heartbeat's answer says the portal knows.
func (k *kit) answered(a portalapi.HeartbeatAnswer, rtt time.Duration) {
	k.policySeen, k.actionsSeen, k.lastRTT = a.Update != nil, a.ActionsKnown, rtt
}
