package portal

import (
	"encoding/json"

	"roomkit/health"
	"roomkit/internal/plainjson"
	"roomkit/ota"
)

// heartbeatDecoder reads a heartbeat, and the columns stored from one,
// in JSON's plain form (internal/plainjson).
type heartbeatDecoder struct{ plainjson.Reader }

// decodeHeartbeatPlain decodes a heartbeat body without reflection when
// it is in the plain form (internal/plainjson) and carries only what a kit sends
// every 15 s: state, version, uptime, devices, the health tree, the
// update report and the link's latency. ok false (another field, a
// null, an escape, a key twice, anything invalid) sends the body to
// encoding/json (decodeHeartbeat), which decodes what this takes to the
// same heartbeat (FuzzDecodeHeartbeatPlain) and words every error.
// encoding/json, walking the body by reflection after scanning it whole
// to find its end, was most of a heartbeat's CPU in the portal.
func decodeHeartbeatPlain(b []byte) (hb heartbeat, ok bool) {
	d := heartbeatDecoder{plainjson.New(b)}
	var seen uint64
	ok = d.Object(func(key []byte) bool {
		switch string(key) {
		case "state":
			return plainjson.Once(&seen, 0) && d.strTo(&hb.State, "ready")
		case "version":
			return plainjson.Once(&seen, 1) && d.strTo(&hb.Version)
		case "uptime_seconds":
			return plainjson.Once(&seen, 2) && d.intTo(&hb.UptimeSeconds)
		case "devices":
			return plainjson.Once(&seen, 3) && d.devices(&hb.Devices)
		case "health":
			if !plainjson.Once(&seen, 4) {
				return false
			}
			d.Space()
			r, n, ok := health.DecodeReportPrefix(d.Rest())
			d.Skip(n)
			hb.Health = &r
			return ok
		case "update":
			hb.Update = &ota.Report{}
			return plainjson.Once(&seen, 5) && d.update(hb.Update)
		case "latency_ms":
			return plainjson.Once(&seen, 6) && d.intTo(&hb.LatencyMS)
		}
		return false // actions_done, meeting, config, or unknown: encoding/json's
	})
	if !ok || !d.End() {
		return heartbeat{}, false
	}
	return hb, true
}

func (d *heartbeatDecoder) strTo(dst *string, known ...string) (ok bool) {
	*dst, ok = d.Str(known...)
	return ok
}

func (d *heartbeatDecoder) intTo(dst *int64) (ok bool) {
	*dst, ok = d.Int()
	return ok
}

// devices reads a heartbeat's devices; the stored devices column
// (storedDevices) is the same list.
func (d *heartbeatDecoder) devices(dst *[]Device) bool {
	devs := []Device{}
	ok := d.Array(func() bool {
		devs = append(devs, Device{})
		dev := &devs[len(devs)-1]
		var seen uint64
		return d.Object(func(key []byte) bool {
			switch string(key) {
			case "kind":
				return plainjson.Once(&seen, 0) && d.strTo(&dev.Kind, "camera", "speakerphone", "display", "input")
			case "name":
				return plainjson.Once(&seen, 1) && d.strTo(&dev.Name)
			case "present":
				if !plainjson.Once(&seen, 2) {
					return false
				}
				var ok bool
				dev.Present, ok = d.Bool()
				return ok
			case "error":
				return plainjson.Once(&seen, 3) && d.strTo(&dev.Error)
			}
			return false
		})
	})
	*dst = devs
	return ok
}

// update reads the update agent's report as a kit sends it while idle
// or busy; "progress" (a float) and "last" are left to encoding/json.
func (d *heartbeatDecoder) update(u *ota.Report) bool {
	var seen uint64
	return d.Object(func(key []byte) bool {
		switch string(key) {
		case "state":
			if !plainjson.Once(&seen, 0) {
				return false
			}
			s, ok := d.Str(string(ota.Idle), string(ota.Checking), string(ota.Downloading), string(ota.Healthy))
			u.State = ota.State(s)
			return ok
		case "target_version":
			return plainjson.Once(&seen, 1) && d.strTo(&u.TargetVersion, "")
		case "error":
			return plainjson.Once(&seen, 2) && d.strTo(&u.Error, "")
		case "detail":
			return plainjson.Once(&seen, 3) && d.strTo(&u.Detail)
		case "channel":
			return plainjson.Once(&seen, 4) && d.strTo(&u.Channel, "stable")
		case "available":
			return plainjson.Once(&seen, 5) && d.strTo(&u.Available, "")
		case "request":
			return plainjson.Once(&seen, 6) && d.strTo(&u.Request)
		}
		return false
	})
}

// unmarshalDevices reads a stored devices column (json.Marshal of the
// heartbeat's []Device) into dst as json.Unmarshal does: replicas read
// one with every heartbeat to compare with. The plain form without
// reflection; anything else (an escape json.Marshal wrote for < or &,
// or a bad column) goes to json.Unmarshal, whose error is returned.
func unmarshalDevices(col string, dst *[]Device) error {
	d := heartbeatDecoder{plainjson.New([]byte(col))}
	var devs []Device
	if d.devices(&devs) && d.End() {
		*dst = devs
		return nil
	}
	return json.Unmarshal([]byte(col), dst)
}
