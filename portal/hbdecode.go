package portal

import (
	"encoding/json"

	"roomkit/health"
	"roomkit/ota"
)

// decodeHeartbeatPlain decodes a heartbeat body without reflection when
// it is in the plain form (plainJSON) and carries only what a kit sends
// every 15 s: state, version, uptime, devices, the health tree, the
// update report and the link's latency. ok false (another field, a
// null, an escape, a key twice, anything invalid) sends the body to
// encoding/json (decodeHeartbeat), which decodes what this takes to the
// same heartbeat (FuzzDecodeHeartbeatPlain) and words every error.
// encoding/json, walking the body by reflection after scanning it whole
// to find its end, was most of a heartbeat's CPU in the portal.
func decodeHeartbeatPlain(b []byte) (hb heartbeat, ok bool) {
	d := plainJSON{b: b}
	var seen uint64
	ok = d.object(func(key []byte) bool {
		switch string(key) {
		case "state":
			return once(&seen, 0) && d.strTo(&hb.State, "ready")
		case "version":
			return once(&seen, 1) && d.strTo(&hb.Version)
		case "uptime_seconds":
			return once(&seen, 2) && d.intTo(&hb.UptimeSeconds)
		case "devices":
			return once(&seen, 3) && d.devices(&hb.Devices)
		case "health":
			if !once(&seen, 4) {
				return false
			}
			d.space()
			r, n, ok := health.DecodeReportPrefix(d.b[d.i:])
			d.i += n
			hb.Health = &r
			return ok
		case "update":
			hb.Update = &ota.Report{}
			return once(&seen, 5) && d.update(hb.Update)
		case "latency_ms":
			return once(&seen, 6) && d.intTo(&hb.LatencyMS)
		}
		return false // actions_done, meeting, config, or unknown: encoding/json's
	})
	if !ok || !d.end() {
		return heartbeat{}, false
	}
	return hb, true
}

func (d *plainJSON) strTo(dst *string, known ...string) (ok bool) {
	*dst, ok = d.str(known...)
	return ok
}

func (d *plainJSON) intTo(dst *int64) (ok bool) {
	*dst, ok = d.int()
	return ok
}

// devices reads a heartbeat's devices; the stored devices column
// (storedDevices) is the same list.
func (d *plainJSON) devices(dst *[]Device) bool {
	devs := []Device{}
	ok := d.array(func() bool {
		devs = append(devs, Device{})
		dev := &devs[len(devs)-1]
		var seen uint64
		return d.object(func(key []byte) bool {
			switch string(key) {
			case "kind":
				return once(&seen, 0) && d.strTo(&dev.Kind, "camera", "speakerphone", "display", "input")
			case "name":
				return once(&seen, 1) && d.strTo(&dev.Name)
			case "present":
				if !once(&seen, 2) {
					return false
				}
				var ok bool
				dev.Present, ok = d.bool()
				return ok
			case "error":
				return once(&seen, 3) && d.strTo(&dev.Error)
			}
			return false
		})
	})
	*dst = devs
	return ok
}

// update reads the update agent's report as a kit sends it while idle
// or busy; "progress" (a float) and "last" are left to encoding/json.
func (d *plainJSON) update(u *ota.Report) bool {
	var seen uint64
	return d.object(func(key []byte) bool {
		switch string(key) {
		case "state":
			if !once(&seen, 0) {
				return false
			}
			s, ok := d.str(string(ota.Idle), string(ota.Checking), string(ota.Downloading), string(ota.Healthy))
			u.State = ota.State(s)
			return ok
		case "target_version":
			return once(&seen, 1) && d.strTo(&u.TargetVersion, "")
		case "error":
			return once(&seen, 2) && d.strTo(&u.Error, "")
		case "detail":
			return once(&seen, 3) && d.strTo(&u.Detail)
		case "channel":
			return once(&seen, 4) && d.strTo(&u.Channel, "stable")
		case "available":
			return once(&seen, 5) && d.strTo(&u.Available, "")
		case "request":
			return once(&seen, 6) && d.strTo(&u.Request)
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
	d := plainJSON{b: []byte(col)}
	var devs []Device
	if d.devices(&devs) && d.end() {
		*dst = devs
		return nil
	}
	return json.Unmarshal([]byte(col), dst)
}
