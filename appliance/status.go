package appliance

// What roomctl, the control API and the heartbeat see of the kit.

import (
	"time"

	"roomkit/appliance/meeting"
	"roomkit/drivers"
	"roomkit/ota"
	"roomkit/portalapi"
)

// Status is the kit's state as roomctl and the control API show it.
type Status struct {
	State           State            `json:"state"`
	RoomName        string           `json:"room_name,omitempty"`
	Location        string           `json:"location,omitempty"`
	TimeZone        string           `json:"time_zone,omitempty"`
	PortalURL       string           `json:"portal_url"`
	PortalConnected bool             `json:"portal_connected"`
	LastHeartbeat   time.Time        `json:"last_heartbeat,omitzero"`
	Version         string           `json:"version"`
	DeviceID        string           `json:"device_id,omitempty"`
	Devices         []drivers.Status `json:"devices"`
	Muted           bool             `json:"muted"` // the room's microphone: the mute button, the screen, roomctl
	Volume          int              `json:"volume"`
	Meeting         *MeetingStatus   `json:"meeting,omitempty"`
	Upcoming        []UpcomingStatus `json:"upcoming,omitempty"` // the room's meetings today
	UserCode        string           `json:"user_code,omitempty"`
	VerificationURI string           `json:"verification_uri,omitempty"`
	CodeExpiresAt   time.Time        `json:"code_expires_at,omitzero"`
	Message         string           `json:"message,omitempty"`
	Error           string           `json:"error,omitempty"`
	SettingsError   string           `json:"settings_error,omitempty"` // settings.json is unusable: defaults apply
	StorageError    string           `json:"storage_error,omitempty"`  // the state directory is unusable: nothing is kept
	UptimeSeconds   int64            `json:"uptime_seconds"`
	// Update is the update agent's state (state, target_version and
	// error are pinned); absent on a kit without an agent (no trusted
	// root: updates are off).
	Update *ota.Status `json:"update,omitempty"`
	// Config is the room's configuration profile as the kit applied it
	// (revision, state, rejected; docs/profiles.md); absent while the
	// kit has none.
	Config *ConfigStatus `json:"config,omitempty"`
}

// MeetingStatus is the meeting part of Status.
type MeetingStatus struct {
	ID           string                `json:"id"`
	Title        string                `json:"title"`
	JoinURL      string                `json:"join_url"`
	Organizer    bool                  `json:"organizer"`
	Locked       bool                  `json:"locked"`
	Muted        bool                  `json:"muted"`
	CameraOff    bool                  `json:"camera_off"`
	Volume       int                   `json:"volume"`
	Connection   string                `json:"connection"`
	Reconnects   int64                 `json:"reconnects"` // times the connection came back
	Participants []meeting.Participant `json:"participants"`
	// Tiles is what the screen shows of the others: one per camera, and
	// one for a shared screen (Content).
	Tiles []TileStatus `json:"tiles"`
	// Sharing names who shares a screen, shown large (the content layout).
	Sharing string `json:"sharing,omitempty"`
}

// TileStatus is one video on the kit's screen.
type TileStatus struct {
	Identity    string `json:"identity"`
	Name        string `json:"name"`
	Picture     bool   `json:"picture"`               // a decoded picture is shown
	Placeholder string `json:"placeholder,omitempty"` // why there is none
	Content     bool   `json:"content,omitempty"`     // a shared screen
}

// UpcomingStatus is one of the room's meetings today.
type UpcomingStatus struct {
	ID    string    `json:"id"`
	Title string    `json:"title"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// Metrics are the kit's counters since roomd started.
type Metrics struct {
	HeartbeatsOK       uint64
	HeartbeatsFailed   uint64
	PairingCodesIssued uint64
}

// Status returns a snapshot of the kit's state.
func (k *Kit) Status() Status {
	now := k.now()
	st := k.state()
	l := k.link.status(now)
	m := k.meetings.state()
	muted, volume := k.meetings.levels()
	if m != nil && st == Ready {
		st = InMeeting
	}
	s := Status{
		State:           st,
		PortalURL:       k.cfg.PortalURL,
		PortalConnected: l.Connected,
		LastHeartbeat:   l.LastBeat,
		Version:         k.runningVersion(),
		DeviceID:        l.DeviceID,
		Devices:         k.devices(),
		Muted:           muted,
		Volume:          volume,
		Message:         l.Message,
		Error:           l.Error,
		SettingsError:   k.settingsLine,
		StorageError:    l.StorageLine,
		UptimeSeconds:   int64(now.Sub(k.upSinceTime()) / time.Second),
		Update:          k.updateStatus(),
		Config:          k.configStatusForStatus(),
	}
	if r := l.Room; r != nil && (st == Ready || st == InMeeting || st == Updating) {
		s.RoomName, s.Location, s.TimeZone = r.Name, r.Location, r.TimeZone
	}
	if m != nil && st == InMeeting {
		s.Meeting = meetingStatus(m)
	}
	if st == Ready {
		for _, u := range k.meetings.upcomingAt(now) {
			s.Upcoming = append(s.Upcoming, UpcomingStatus{ID: u.ID, Title: u.Title, Start: u.Start, End: u.End})
		}
	}
	if c := l.Code; c != nil && st == Pairing {
		s.UserCode, s.VerificationURI, s.CodeExpiresAt = c.UserCode, c.VerificationURI, c.ExpiresAt
	}
	return s
}

// upSinceTime is when the kit (or its last Restart) started.
func (k *Kit) upSinceTime() time.Time {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.upSince
}

// meetingStatus is the meeting part of Status.
func meetingStatus(m *meetingState) *MeetingStatus {
	s := &MeetingStatus{
		ID: m.Info.ID, Title: m.Info.Title, JoinURL: m.Info.JoinURL, Organizer: m.Organizer, Locked: m.Info.Locked,
		Muted: m.Muted, CameraOff: m.CameraOff, Volume: m.Volume, Connection: m.Connection,
		Participants: m.Participants, Tiles: []TileStatus{}, Reconnects: m.Reconnects,
	}
	if s.Participants == nil {
		s.Participants = []meeting.Participant{}
	}
	for _, t := range m.Tiles {
		s.Tiles = append(s.Tiles, TileStatus{Identity: t.Identity, Name: t.Name, Picture: t.Frame != nil, Placeholder: t.Placeholder, Content: t.ScreenShare})
		if t.ScreenShare && s.Sharing == "" {
			s.Sharing = t.Name
		}
	}
	return s
}

// report is the heartbeat's body; with the update agent's report when
// the portal's last answer showed it knows updates (withUpdate).
func (k *Kit) report(withUpdate bool) portalapi.Report {
	st := k.Status()
	h := k.Health(k.now()).Summary()
	r := portalapi.Report{State: string(st.State), Version: st.Version, UptimeSeconds: st.UptimeSeconds, Devices: st.Devices, Health: &h}
	if withUpdate {
		r.Update = k.updateReport()
	}
	return r
}

// setPolicy hands a heartbeat answer's update policy to the agent.
func (k *Kit) setPolicy(p ota.Policy) {
	if u := k.updaterOf(); u != nil {
		u.SetPolicy(p)
	}
}

// devices asks every device for its status. Drivers lock their own
// state.
func (k *Kit) devices() []drivers.Status {
	var devs []drivers.Status
	if k.cfg.Camera != nil {
		devs = append(devs, k.cfg.Camera.Status())
	}
	if k.cfg.Speakerphone != nil {
		devs = append(devs, k.cfg.Speakerphone.Status())
	}
	devs = append(devs, k.cfg.Display.Status())
	if k.cfg.Input != nil {
		devs = append(devs, k.cfg.Input.Status())
	}
	if k.cfg.GPIO != nil {
		devs = append(devs, k.cfg.GPIO.Status())
	}
	return devs
}

// Metrics returns the kit's counters.
func (k *Kit) Metrics() Metrics {
	return k.link.status(k.now()).Metrics
}
