package portal

// Configuration profiles, the portal's part (issue 14 §4,
// docs/profiles.md): named profile.Values assigned to a group or a room,
// a room's own overrides on top, the merged result sent to the kit in
// each heartbeat answer ("config") and the kit's answer ("config" in its
// heartbeat) kept per room.
//
// The rules, decided here and documented in docs/profiles.md:
//   - Layers, later wins (profile.Merge): the profile of the room's group,
//     the room's own profile, the room's overrides. A room is in one group
//     (rooms.grp), so at most one group profile applies.
//   - The room's time zone is its override for time_zone: pairing sets
//     it. A room without a room_config row has rooms.time_zone as its
//     override; once a row exists, rooms.time_zone holds the effective
//     zone (the merge's, UTC if no layer sets one), written with every
//     change, so everything that reads a room's zone (meetings, alerts,
//     the kit's room config, the update window) uses the effective one.
//   - update_channel and update_window are not sent in "config": they
//     feed the room's update policy ("update"), one source per field. The
//     profile's values sit just above the fleet's policy: the Updates
//     page's group and room policies win over them.
//   - A room gets "config" only when a profile applies to it or it has an
//     override besides its time zone (which "room" already carries), so
//     kits of rooms nobody configured see the answer they always saw.

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"roomkit/internal/textfield"
	"roomkit/ota/rollout"
	"roomkit/profile"
)

const maxProfileName = 64

// Where an effective value comes from.
const (
	fromGroupProfile = "group profile"
	fromRoomProfile  = "room profile"
	fromOverride     = "override"
)

// profileView is a profile as the admin API shows it.
type profileView struct {
	ID      int64          `json:"id"`
	Name    string         `json:"name"`
	Values  profile.Values `json:"values"`
	Created time.Time      `json:"created"`
	Updated time.Time      `json:"updated"`
	Actor   string         `json:"updated_by"`
	// Groups and Rooms are where it is assigned; a group-scoped principal
	// sees only its groups' share.
	Groups []string     `json:"groups"`
	Rooms  []profileUse `json:"rooms"`
}

// profileUse names a room a profile is assigned to.
type profileUse struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Group string `json:"group"`
}

// profileInput is the body of POST /api/v1/admin/profiles and PUT …/{id}.
type profileInput struct {
	Name   string          `json:"name"`
	Values json.RawMessage `json:"values"`
}

// namedValues is a profile as one layer of a room's configuration.
type namedValues struct {
	ID     int64          `json:"id"`
	Name   string         `json:"name"`
	Values profile.Values `json:"values"`
}

// configLayers are what a room's configuration is made of.
type configLayers struct {
	GroupProfile *namedValues   `json:"group_profile"`
	RoomProfile  *namedValues   `json:"room_profile"`
	Overrides    profile.Values `json:"overrides"`
}

func (l configLayers) values() []profile.Values {
	var out []profile.Values
	if l.GroupProfile != nil {
		out = append(out, l.GroupProfile.Values)
	}
	if l.RoomProfile != nil {
		out = append(out, l.RoomProfile.Values)
	}
	return append(out, l.Overrides)
}

// merged is the room's effective values.
func (l configLayers) merged() profile.Values { return profile.Merge(l.values()...) }

// sendsConfig says whether the room's heartbeat answers carry "config".
func (l configLayers) sendsConfig() bool {
	if l.GroupProfile != nil || l.RoomProfile != nil {
		return true
	}
	o := l.Overrides
	o.TimeZone = ""
	return !isEmpty(o)
}

func isEmpty(v profile.Values) bool {
	b, _ := json.Marshal(v)
	return string(b) == "{}"
}

// timeZone is the room's effective zone: UTC when no layer sets one.
func (l configLayers) timeZone() string {
	if tz := l.merged().TimeZone; tz != "" {
		return tz
	}
	return "UTC"
}

// kitConfig is what the kit is sent: the merge without the update
// fields, which reach it in "update".
func kitConfig(merged profile.Values) profile.Config {
	merged.UpdateChannel, merged.UpdateWindow = "", nil
	return profile.NewConfig(merged)
}

// updateLayer is the profile's share of the room's update policy.
func updateLayer(merged profile.Values) rollout.Layer {
	var l rollout.Layer
	if merged.UpdateChannel != "" {
		ch := merged.UpdateChannel
		l.Channel = &ch
	}
	if merged.UpdateWindow != nil {
		w := *merged.UpdateWindow
		l.Window = &w
	}
	return l
}

// sources says which layer each effective field comes from.
func (l configLayers) sources() map[string]string {
	out := map[string]string{}
	set := func(v profile.Values, from string) {
		for _, f := range profile.Fields {
			if _, ok := fieldText(v, f); ok {
				out[f] = from
			}
		}
	}
	if l.GroupProfile != nil {
		set(l.GroupProfile.Values, fromGroupProfile)
	}
	if l.RoomProfile != nil {
		set(l.RoomProfile.Values, fromRoomProfile)
	}
	set(l.Overrides, fromOverride)
	return out
}

// fieldText is field f of v in words, and whether v sets it.
func fieldText(v profile.Values, f string) (string, bool) {
	switch f {
	case "time_zone":
		return v.TimeZone, v.TimeZone != ""
	case "language":
		return v.Language, v.Language != ""
	case "display_rotation":
		if v.DisplayRotation != nil {
			return strconv.Itoa(*v.DisplayRotation) + "°", true
		}
	case "volume":
		if v.Volume != nil {
			return strconv.Itoa(*v.Volume) + " %", true
		}
	case "camera":
		if c := v.Camera; c != nil {
			var parts []string
			if c.Name != "" {
				parts = append(parts, fmt.Sprintf("named like %q", c.Name))
			}
			if c.Prefer1080p != nil {
				if *c.Prefer1080p {
					parts = append(parts, "prefers 1080p")
				} else {
					parts = append(parts, "prefers 720p")
				}
			}
			if len(parts) == 0 {
				parts = append(parts, "the kit's choice")
			}
			return strings.Join(parts, ", "), true
		}
	case "gpio":
		if g := v.GPIO; g != nil {
			var parts []string
			for _, p := range [...]struct{ what, pin string }{{"mute button", g.MuteButton}, {"mute LED", g.MuteLED}, {"presence", g.Presence}} {
				if p.pin != "" {
					parts = append(parts, p.what+" "+p.pin)
				}
			}
			if len(parts) == 0 {
				parts = append(parts, "none")
			}
			if g.ActiveLow {
				parts = append(parts, "active low")
			}
			return strings.Join(parts, ", "), true
		}
	case "update_channel":
		return v.UpdateChannel, v.UpdateChannel != ""
	case "update_window":
		if w := v.UpdateWindow; w != nil {
			return w.Start + "–" + w.End, true
		}
	}
	return "", false
}

// fieldLabels name the fields for people.
var fieldLabels = map[string]string{
	"time_zone": "Time zone", "language": "Screen language", "display_rotation": "Display rotation", "volume": "Default volume",
	"camera": "Camera", "gpio": "GPIO mapping", "update_channel": "Update channel", "update_window": "Update window",
}

// The kit's states as the admin center shows them.
const (
	kitNoConfig = "none"     // nothing is sent: settings.json rules
	kitApplying = "applying" // the kit has not reported the current revision
)

// configStatusView is the kit's answer for a room's current configuration.
type configStatusView struct {
	// State: applied, rejected, applying (the kit has not reported the
	// current revision yet) or none (the room has no configuration).
	State    string              `json:"state"`
	Words    string              `json:"words"`
	Rejected []profile.Rejection `json:"rejected"`
	// Reported is the kit's last report, whatever its revision.
	Reported *reportedStatus `json:"reported"`
}

type reportedStatus struct {
	Revision string              `json:"revision"`
	State    string              `json:"state"`
	Rejected []profile.Rejection `json:"rejected"`
	At       time.Time           `json:"at"`
}

// roomConfigView is GET /api/v1/admin/rooms/{id}/config.
type roomConfigView struct {
	Room      string            `json:"room"`
	Group     string            `json:"group"`
	Layers    configLayers      `json:"layers"`
	Effective profile.Values    `json:"effective"`
	Sources   map[string]string `json:"sources"`
	TimeZone  string            `json:"time_zone"`
	// Config is what the kit is sent; null: nothing (settings.json rules).
	Config *profile.Config `json:"config"`
	// Update is the room's update policy as resolved: fleet, the profile's
	// channel and window, the group's and room's policies.
	Update effectivePolicy  `json:"update"`
	Status configStatusView `json:"status"`
}

// configSelect reads what rooms' configurations are made of.
const configSelect = `SELECT r.id, r.name, r.time_zone, r.grp, rc.overrides,
	rp.id, rp.name, rp.config, gp.id, gp.name, gp.config
	FROM rooms r
	LEFT JOIN room_config rc ON rc.room_id = r.id
	LEFT JOIN profiles rp ON rp.id = rc.profile_id
	LEFT JOIN group_profiles g ON g.grp = r.grp AND r.grp != ''
	LEFT JOIN profiles gp ON gp.id = g.profile_id `

type roomLayers struct {
	id, name, group string
	layers          configLayers
}

type querier interface {
	Query(query string, args ...any) (*sql.Rows, error)
}

func loadLayers(q querier, where string, args ...any) ([]roomLayers, error) {
	rows, err := q.Query(configSelect+where, args...)
	if err != nil {
		return nil, fmt.Errorf("read room configuration: %w", err)
	}
	defer rows.Close()
	var out []roomLayers
	for rows.Next() {
		var rl roomLayers
		var tz string
		var overrides, rpName, rpConfig, gpName, gpConfig sql.NullString
		var rpID, gpID sql.NullInt64
		if err := rows.Scan(&rl.id, &rl.name, &tz, &rl.group, &overrides, &rpID, &rpName, &rpConfig, &gpID, &gpName, &gpConfig); err != nil {
			return nil, fmt.Errorf("read room configuration: %w", err)
		}
		if overrides.Valid {
			rl.layers.Overrides = storedValues(overrides.String)
		} else {
			// Before its first change a room's zone, set at pairing, is its override.
			rl.layers.Overrides = profile.Values{TimeZone: tz}
		}
		if rpID.Valid {
			rl.layers.RoomProfile = &namedValues{ID: rpID.Int64, Name: rpName.String, Values: storedValues(rpConfig.String)}
		}
		if gpID.Valid {
			rl.layers.GroupProfile = &namedValues{ID: gpID.Int64, Name: gpName.String, Values: storedValues(gpConfig.String)}
		}
		out = append(out, rl)
	}
	return out, rows.Err()
}

// storedValues reads values the portal wrote (checked when written).
func storedValues(s string) profile.Values {
	var v profile.Values
	_ = json.Unmarshal([]byte(s), &v)
	return v
}

func valuesJSON(v profile.Values) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// refreshRooms recomputes the effective configuration of the rooms
// where selects (rooms r): room_config.effective (the merge, ” when
// nothing is sent) and rooms.time_zone. It returns their IDs, for the
// caller to drop from the caches after the commit.
func refreshRooms(tx *sqlTx, where string, args ...any) ([]string, error) {
	rls, err := loadLayers(tx, where, args...)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(rls))
	for _, rl := range rls {
		eff := ""
		if rl.layers.sendsConfig() {
			eff = valuesJSON(rl.layers.merged())
		}
		if _, err := tx.Exec("UPDATE rooms SET time_zone = ? WHERE id = ?", rl.layers.timeZone(), rl.id); err != nil {
			return nil, fmt.Errorf("store room %s's time zone: %w", rl.id, err)
		}
		if _, err := tx.Exec(`INSERT INTO room_config (room_id, overrides, effective) VALUES (?, ?, ?)
			ON CONFLICT (room_id) DO UPDATE SET effective = excluded.effective`,
			rl.id, valuesJSON(rl.layers.Overrides), eff); err != nil {
			return nil, fmt.Errorf("store room %s's configuration: %w", rl.id, err)
		}
		ids = append(ids, rl.id)
	}
	return ids, nil
}

// forgetConfigs drops the rooms' cached configuration (time zone, policy
// inputs, what the kit is sent) after a change.
func (s *Server) forgetConfigs(ids []string) {
	for _, id := range ids {
		s.upd.forgetGroup(id)
		s.live.mu.Lock()
		delete(s.live.cfg, id)
		s.live.mu.Unlock()
	}
}

// changeConfig runs f in a transaction, then refreshes the rooms where
// selects and forgets their caches.
func (s *Server) changeConfig(f func(tx *sqlTx) error, where string, args ...any) error {
	var ids []string
	err := s.inTx(func(tx *sqlTx) error {
		if err := tx.lock(lockConfig); err != nil {
			return err
		}
		if err := f(tx); err != nil {
			return err
		}
		var err error
		ids, err = refreshRooms(tx, where, args...)
		return err
	})
	if err == nil {
		s.forgetConfigs(ids)
	}
	return err
}

// roomConfigState is what a heartbeat needs of the room's configuration:
// the kit's config and the profile's share of its update policy.
type roomConfigState struct {
	config *profile.Config
	update rollout.Layer
}

func configState(effective string) roomConfigState {
	if effective == "" {
		return roomConfigState{}
	}
	merged := storedValues(effective)
	c := kitConfig(merged)
	return roomConfigState{config: &c, update: updateLayer(merged)}
}

// configStatusKey is a kit's report, to tell a change from a repeat.
func configStatusKey(st profile.Status) string {
	b, _ := json.Marshal(st)
	return string(b)
}

// configSeen remembers each room's last stored status, so that a kit
// repeating it in every heartbeat costs no write.
type configSeen struct {
	mu   sync.Mutex
	last map[string]string
}

// noteConfigStatus stores a kit's status when it changed.
func (s *Server) noteConfigStatus(roomID string, st profile.Status) error {
	key := configStatusKey(st)
	s.cfgSeen.mu.Lock()
	same := s.cfgSeen.last[roomID] == key
	s.cfgSeen.mu.Unlock()
	if same && !s.shared() { // replicas: another one may have stored a different status since
		return nil
	}
	rej := "[]"
	if len(st.Rejected) > 0 {
		b, _ := json.Marshal(st.Rejected)
		rej = string(b)
	}
	if _, err := s.db.Exec(`INSERT INTO config_status (room_id, revision, state, rejected, at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (room_id) DO UPDATE SET revision = excluded.revision, state = excluded.state,
			rejected = excluded.rejected, at = excluded.at`,
		roomID, st.Revision, st.State, rej, s.now().UnixMilli()); err != nil {
		return fmt.Errorf("store config status: %w", err)
	}
	s.cfgSeen.mu.Lock()
	if s.cfgSeen.last == nil {
		s.cfgSeen.last = map[string]string{}
	}
	s.cfgSeen.last[roomID] = key
	s.cfgSeen.mu.Unlock()
	return nil
}

// reportedConfig reads the kit's last reported status; nil: none yet.
func (s *Server) reportedConfig(roomID string) (*reportedStatus, error) {
	var r reportedStatus
	var rej string
	var at int64
	err := s.db.QueryRow("SELECT revision, state, rejected, at FROM config_status WHERE room_id = ?", roomID).
		Scan(&r.Revision, &r.State, &rej, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read config status: %w", err)
	}
	_ = json.Unmarshal([]byte(rej), &r.Rejected)
	if r.Rejected == nil {
		r.Rejected = []profile.Rejection{}
	}
	r.At = time.UnixMilli(at).UTC()
	return &r, nil
}

// statusFor says where the kit stands with the current config.
func statusFor(cur *profile.Config, rep *reportedStatus) configStatusView {
	v := configStatusView{Reported: rep, Rejected: []profile.Rejection{}}
	switch {
	case cur == nil:
		v.State, v.Words = kitNoConfig, "no profile or override: the kit's own settings apply"
	case rep == nil || rep.Revision != cur.Revision:
		v.State, v.Words = kitApplying, "applying…"
	case rep.State == profile.Applied:
		v.State, v.Words = profile.Applied, "applied"
	default:
		v.State, v.Rejected = profile.Rejected, rep.Rejected
		var why []string
		for _, r := range rep.Rejected {
			label := fieldLabels[r.Field]
			if label == "" {
				label = r.Field
			}
			why = append(why, strings.ToLower(label[:1])+label[1:]+": "+r.Reason)
		}
		v.Words = "rejected because " + strings.Join(why, "; ")
	}
	return v
}

// roomConfigView reads room id's configuration; errNotFound if none.
func (s *Server) roomConfigView(id string) (roomConfigView, error) {
	rls, err := loadLayers(s.db, "WHERE r.id = ?", id)
	if err != nil {
		return roomConfigView{}, err
	}
	if len(rls) == 0 {
		return roomConfigView{}, errNotFound
	}
	rl := rls[0]
	merged := rl.layers.merged()
	v := roomConfigView{Room: rl.id, Group: rl.group, Layers: rl.layers, Effective: merged, Sources: rl.layers.sources(),
		TimeZone: rl.layers.timeZone()}
	if rl.layers.sendsConfig() {
		c := kitConfig(merged)
		v.Config = &c
	}
	if err := s.syncUpdates(); err != nil {
		return v, err
	}
	s.upd.mu.Lock()
	v.Update = effective(rollout.Resolve(s.upd.layersLocked(rl.group, rl.id, updateLayer(merged))...))
	s.upd.mu.Unlock()
	rep, err := s.reportedConfig(id)
	if err != nil {
		return v, err
	}
	v.Status = statusFor(v.Config, rep)
	return v, nil
}

// checkProfileName: one line of 1 to maxProfileName characters.
func checkProfileName(name string) (string, *httpError) {
	name = strings.TrimSpace(name)
	if name == "" || textfield.Check(name, maxProfileName) != nil {
		return "", errorf(http.StatusBadRequest, "A profile's name must be one line of 1 to %d characters.", maxProfileName)
	}
	return name, nil
}

// badValues is a 400 with profile.Check's sentence.
func badValues(what string, err error) *httpError {
	msg := strings.TrimPrefix(strings.TrimPrefix(err.Error(), "profile: "), "json: ")
	return errorf(http.StatusBadRequest, "%s: %s.", what, strings.ReplaceAll(msg, "\n", "; "))
}

// parseProfileInput decodes and checks a profile's body.
func parseProfileInput(body []byte) (string, profile.Values, *httpError) {
	var in profileInput
	if err := decodeStrict(body, &in); err != nil {
		return "", profile.Values{}, errorf(http.StatusBadRequest, "Bad profile: %v.", err)
	}
	name, herr := checkProfileName(in.Name)
	if herr != nil {
		return "", profile.Values{}, herr
	}
	v := profile.Values{}
	if len(in.Values) > 0 && string(in.Values) != "null" {
		var err error
		if v, err = profile.Parse(in.Values); err != nil {
			return "", profile.Values{}, badValues("Bad profile values", err)
		}
	}
	return name, v, nil
}

func isUnique(err error) bool { return isUniqueViolation(err) }

// createProfile stores a new profile.
func (s *Server) createProfile(p principal, addr, name string, v profile.Values) (profileView, *httpError) {
	now := s.now().UnixMilli()
	var id int64
	err := s.db.QueryRow("INSERT INTO profiles (name, config, created, updated, actor) VALUES (?, ?, ?, ?, ?) RETURNING id",
		name, valuesJSON(v), now, now, p.actor).Scan(&id)
	if isUnique(err) {
		return profileView{}, errorf(http.StatusConflict, "There is already a profile named %q.", name)
	}
	if err != nil {
		return profileView{}, s.storeFailure("store the profile", err)
	}
	s.audit(p.actor, "create profile", fmt.Sprintf("%q (%d) %s", name, id, valuesJSON(v)), addr)
	return s.profileOrFail(p, id)
}

func (s *Server) profileOrFail(p principal, id int64) (profileView, *httpError) {
	pv, err := s.getProfile(p, id)
	if errors.Is(err, errNotFound) {
		return pv, errorf(http.StatusNotFound, "There is no profile with the ID %d.", id)
	}
	if err != nil {
		return pv, s.storeFailure("read the profile", err)
	}
	return pv, nil
}

// updateProfile replaces a profile's name and values; every room using
// it gets the new values with its next heartbeat.
func (s *Server) updateProfile(p principal, addr string, id int64, name string, v profile.Values) (profileView, *httpError) {
	var old string
	err := s.changeConfig(func(tx *sqlTx) error {
		if err := tx.QueryRow("SELECT name FROM profiles WHERE id = ?", id).Scan(&old); err != nil {
			return err
		}
		_, err := tx.Exec("UPDATE profiles SET name = ?, config = ?, updated = ?, actor = ? WHERE id = ?",
			name, valuesJSON(v), s.now().UnixMilli(), p.actor, id)
		return err
	}, `WHERE r.id IN (SELECT room_id FROM room_config WHERE profile_id = ?)
		OR r.grp IN (SELECT grp FROM group_profiles WHERE profile_id = ?)`, id, id)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return profileView{}, errorf(http.StatusNotFound, "There is no profile with the ID %d.", id)
	case isUnique(err):
		return profileView{}, errorf(http.StatusConflict, "There is already a profile named %q.", name)
	case err != nil:
		return profileView{}, s.storeFailure("store the profile", err)
	}
	s.audit(p.actor, "update profile", fmt.Sprintf("%q (%d) %s", name, id, valuesJSON(v)), addr)
	return s.profileOrFail(p, id)
}

// deleteProfile removes a profile no group or room uses.
func (s *Server) deleteProfile(p principal, addr string, id int64) *httpError {
	pv, herr := s.profileOrFail(principal{}, id) // every use, whoever asks: the refusal must be complete
	if herr != nil {
		return herr
	}
	if len(pv.Groups) > 0 || len(pv.Rooms) > 0 {
		var uses []string
		if len(pv.Groups) > 0 {
			uses = append(uses, "the groups "+strings.Join(quoteAll(pv.Groups), ", "))
		}
		if len(pv.Rooms) > 0 {
			var rs []string
			for _, r := range pv.Rooms {
				rs = append(rs, fmt.Sprintf("%q (%s)", r.Name, r.ID))
			}
			uses = append(uses, "the rooms "+strings.Join(rs, ", "))
		}
		return errorf(http.StatusConflict, "The profile %q is in use by %s. Assign those another profile or none first.", pv.Name, strings.Join(uses, " and "))
	}
	res, err := s.db.Exec("DELETE FROM profiles WHERE id = ?", id)
	if err != nil {
		// A use assigned since the check above: the foreign key refuses.
		if isForeignKeyViolation(err) {
			return errorf(http.StatusConflict, "The profile %q was just assigned; try again.", pv.Name)
		}
		return s.storeFailure("delete the profile", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errorf(http.StatusNotFound, "There is no profile with the ID %d.", id)
	}
	s.audit(p.actor, "delete profile", fmt.Sprintf("%q (%d)", pv.Name, id), addr)
	return nil
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strconv.Quote(s)
	}
	return out
}

// listProfiles lists the profiles by name, with their uses as p may see them.
func (s *Server) listProfiles(p principal) ([]profileView, error) {
	return s.queryProfiles(p, "ORDER BY name COLLATE NOCASE, id")
}

func (s *Server) getProfile(p principal, id int64) (profileView, error) {
	ps, err := s.queryProfiles(p, "WHERE id = ?", id)
	if err != nil {
		return profileView{}, err
	}
	if len(ps) == 0 {
		return profileView{}, errNotFound
	}
	return ps[0], nil
}

func (s *Server) queryProfiles(p principal, tail string, args ...any) ([]profileView, error) {
	rows, err := s.db.Query("SELECT id, name, config, created, updated, actor FROM profiles "+tail, args...)
	if err != nil {
		return nil, fmt.Errorf("list profiles: %w", err)
	}
	out := []profileView{}
	byID := map[int64]int{}
	for rows.Next() {
		var v profileView
		var cfg string
		var created, updated int64
		if err := rows.Scan(&v.ID, &v.Name, &cfg, &created, &updated, &v.Actor); err != nil {
			rows.Close()
			return nil, fmt.Errorf("list profiles: %w", err)
		}
		v.Values = storedValues(cfg)
		v.Created, v.Updated = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
		v.Groups, v.Rooms = []string{}, []profileUse{}
		byID[v.ID] = len(out)
		out = append(out, v)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list profiles: %w", err)
	}
	gs, err := s.db.Query("SELECT grp, profile_id FROM group_profiles ORDER BY grp")
	if err != nil {
		return nil, fmt.Errorf("list group profiles: %w", err)
	}
	for gs.Next() {
		var g string
		var id int64
		if err := gs.Scan(&g, &id); err != nil {
			gs.Close()
			return nil, fmt.Errorf("list group profiles: %w", err)
		}
		if i, ok := byID[id]; ok && (!p.scoped() || p.inGroup(g)) {
			out[i].Groups = append(out[i].Groups, g)
		}
	}
	gs.Close()
	rs, err := s.db.Query(`SELECT rc.profile_id, r.id, r.name, r.grp FROM room_config rc JOIN rooms r ON r.id = rc.room_id
		WHERE rc.profile_id IS NOT NULL ORDER BY r.name COLLATE NOCASE, r.id`)
	if err != nil {
		return nil, fmt.Errorf("list room profiles: %w", err)
	}
	defer rs.Close()
	for rs.Next() {
		var id int64
		var u profileUse
		if err := rs.Scan(&id, &u.ID, &u.Name, &u.Group); err != nil {
			return nil, fmt.Errorf("list room profiles: %w", err)
		}
		if i, ok := byID[id]; ok && (!p.scoped() || p.inGroup(u.Group)) {
			out[i].Rooms = append(out[i].Rooms, u)
		}
	}
	return out, rs.Err()
}

// profileName checks that profile id exists and returns its name.
func profileName(tx *sqlTx, id int64) (string, error) {
	var name string
	err := tx.QueryRow("SELECT name FROM profiles WHERE id = ?", id).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return "", errorf(http.StatusBadRequest, "There is no profile with the ID %d.", id)
	}
	return name, err
}

// groupAssignment is the answer of PUT /api/v1/admin/groups/{group}/profile.
type groupAssignment struct {
	Group   string       `json:"group"`
	Profile *namedValues `json:"profile"`
	Rooms   int          `json:"rooms"` // the group's rooms, which get it with their next heartbeat
}

// checkGroupName checks a group's name from a path.
func checkGroupName(g string) *httpError {
	if gs, err := parseGroups(g); err != nil || len(gs) != 1 || gs[0] != g {
		return errorf(http.StatusBadRequest, "A group's name must be one line of 1 to %d characters without commas.", maxGroup)
	}
	return nil
}

// assignGroupProfile gives group the profile id (0: none).
func (s *Server) assignGroupProfile(p principal, addr, group string, id int64) (groupAssignment, *httpError) {
	if herr := checkGroupName(group); herr != nil {
		return groupAssignment{}, herr
	}
	var name string
	err := s.changeConfig(func(tx *sqlTx) error {
		if id == 0 {
			_, err := tx.Exec("DELETE FROM group_profiles WHERE grp = ?", group)
			return err
		}
		var err error
		if name, err = profileName(tx, id); err != nil {
			return err
		}
		_, err = tx.Exec(`INSERT INTO group_profiles (grp, profile_id, updated, actor) VALUES (?, ?, ?, ?)
			ON CONFLICT (grp) DO UPDATE SET profile_id = excluded.profile_id, updated = excluded.updated, actor = excluded.actor`,
			group, id, s.now().UnixMilli(), p.actor)
		return err
	}, "WHERE r.grp = ?", group)
	if err != nil {
		return groupAssignment{}, s.changeFailure("assign the profile", err)
	}
	a := groupAssignment{Group: group}
	if id != 0 {
		pv, herr := s.profileOrFail(p, id)
		if herr != nil {
			return a, herr
		}
		a.Profile = &namedValues{ID: pv.ID, Name: pv.Name, Values: pv.Values}
		s.audit(p.actor, "assign profile", fmt.Sprintf("%q (%d) to the group %q", name, id, group), addr)
	} else {
		s.audit(p.actor, "unassign profile", fmt.Sprintf("the group %q", group), addr)
	}
	if err := s.db.QueryRow("SELECT COUNT(*) FROM rooms WHERE grp = ?", group).Scan(&a.Rooms); err != nil {
		return a, s.storeFailure("count the group's rooms", err)
	}
	return a, nil
}

// roomName reads a room's name inside tx; a 404 if there is none.
func roomName(tx *sqlTx, id string) (string, error) {
	var name string
	err := tx.QueryRow("SELECT name FROM rooms WHERE id = ?", id).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return "", errorf(http.StatusNotFound, "There is no room with the ID %q.", id)
	}
	return name, err
}

// ensureRoomConfig creates the room's row, its pairing zone as override.
func ensureRoomConfig(tx *sqlTx, id string) error {
	_, err := tx.Exec(`INSERT INTO room_config (room_id, overrides)
		SELECT id, json_object('time_zone', time_zone) FROM rooms WHERE id = ? ON CONFLICT DO NOTHING`, id)
	return err
}

// assignRoomProfile gives room id the profile pid (0: none).
func (s *Server) assignRoomProfile(p principal, addr, id string, pid int64) (roomConfigView, *httpError) {
	var name, pname string
	err := s.changeConfig(func(tx *sqlTx) error {
		var err error
		if name, err = roomName(tx, id); err != nil {
			return err
		}
		var ref any
		if pid != 0 {
			if pname, err = profileName(tx, pid); err != nil {
				return err
			}
			ref = pid
		}
		if err := ensureRoomConfig(tx, id); err != nil {
			return err
		}
		_, err = tx.Exec("UPDATE room_config SET profile_id = ?, updated = ?, actor = ? WHERE room_id = ?", ref, s.now().UnixMilli(), p.actor, id)
		return err
	}, "WHERE r.id = ?", id)
	if err != nil {
		return roomConfigView{}, s.changeFailure("assign the profile", err)
	}
	if pid != 0 {
		s.auditRoom(p.actor, "assign profile", fmt.Sprintf("%q (%d) to %q (%s)", pname, pid, name, id), addr, id)
	} else {
		s.auditRoom(p.actor, "unassign profile", fmt.Sprintf("%q (%s)", name, id), addr, id)
	}
	return s.roomConfigOrFail(id)
}

// setOverrides replaces room id's overrides.
func (s *Server) setOverrides(p principal, addr, id string, v profile.Values) (roomConfigView, *httpError) {
	var name string
	err := s.changeConfig(func(tx *sqlTx) error {
		var err error
		if name, err = roomName(tx, id); err != nil {
			return err
		}
		if err := ensureRoomConfig(tx, id); err != nil {
			return err
		}
		_, err = tx.Exec("UPDATE room_config SET overrides = ?, updated = ?, actor = ? WHERE room_id = ?", valuesJSON(v), s.now().UnixMilli(), p.actor, id)
		return err
	}, "WHERE r.id = ?", id)
	if err != nil {
		return roomConfigView{}, s.changeFailure("store the overrides", err)
	}
	s.auditRoom(p.actor, "set overrides", fmt.Sprintf("%q (%s) %s", name, id, valuesJSON(v)), addr, id)
	return s.roomConfigOrFail(id)
}

// changeFailure is a change's error for the admin: the refusal a step
// returned in words (a 404, a 400), or a store failure.
func (s *Server) changeFailure(what string, err error) *httpError {
	var herr *httpError
	if errors.As(err, &herr) {
		return herr
	}
	return s.storeFailure(what, err)
}

func (s *Server) roomConfigOrFail(id string) (roomConfigView, *httpError) {
	v, err := s.roomConfigView(id)
	if errors.Is(err, errNotFound) {
		return v, errorf(http.StatusNotFound, "There is no room with the ID %q.", id)
	}
	if err != nil {
		return v, s.storeFailure("read the room's configuration", err)
	}
	return v, nil
}

// knownGroups are the groups rooms are in or profiles are assigned to,
// as p may see them, by name.
func (s *Server) knownGroups(p principal) ([]string, error) {
	rows, err := s.db.Query("SELECT grp FROM rooms WHERE grp != '' UNION SELECT grp FROM group_profiles")
	if err != nil {
		return nil, fmt.Errorf("list groups: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var g string
		if err := rows.Scan(&g); err != nil {
			return nil, fmt.Errorf("list groups: %w", err)
		}
		if !p.scoped() || p.inGroup(g) {
			out = append(out, g)
		}
	}
	sort.Strings(out)
	return out, rows.Err()
}

// groupProfiles maps each group to its profile's ID.
func (s *Server) groupProfiles() (map[string]int64, error) {
	rows, err := s.db.Query("SELECT grp, profile_id FROM group_profiles")
	if err != nil {
		return nil, fmt.Errorf("list group profiles: %w", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var g string
		var id int64
		if err := rows.Scan(&g, &id); err != nil {
			return nil, fmt.Errorf("list group profiles: %w", err)
		}
		out[g] = id
	}
	return out, rows.Err()
}

// addConfigProblems adds to the rows of rooms whose kit rejected their
// current configuration what it rejected, in words (one query per page).
func (s *Server) addConfigProblems(rows []roomView) {
	if len(rows) == 0 {
		return
	}
	args := make([]any, len(rows))
	at := map[string]int{}
	for i, r := range rows {
		args[i], at[r.ID] = r.ID, i
	}
	q := `SELECT cs.room_id, cs.revision, cs.rejected, cs.at, rc.effective FROM config_status cs
		JOIN room_config rc ON rc.room_id = cs.room_id
		WHERE cs.state = 'rejected' AND rc.effective != '' AND cs.room_id IN (?` + strings.Repeat(", ?", len(rows)-1) + ")"
	res, err := s.db.Query(q, args...)
	if err != nil {
		s.logStoreError("read config statuses", err)
		return
	}
	defer res.Close()
	for res.Next() {
		var id, eff, rej string
		rep := reportedStatus{State: profile.Rejected}
		var when int64
		if err := res.Scan(&id, &rep.Revision, &rej, &when, &eff); err != nil {
			s.logStoreError("read config statuses", err)
			return
		}
		_ = json.Unmarshal([]byte(rej), &rep.Rejected)
		cur := kitConfig(storedValues(eff))
		if st := statusFor(&cur, &rep); st.State == profile.Rejected {
			rows[at[id]].Problems = append(rows[at[id]].Problems, "Configuration "+st.Words)
		}
	}
}

// groupUpdateLayer is the update share of group's profile, for the
// group's policy view (its rooms' own profiles and overrides may differ).
func (s *Server) groupUpdateLayer(group string) (rollout.Layer, error) {
	var cfg string
	err := s.db.QueryRow("SELECT p.config FROM group_profiles g JOIN profiles p ON p.id = g.profile_id WHERE g.grp = ?", group).Scan(&cfg)
	if errors.Is(err, sql.ErrNoRows) {
		return rollout.Layer{}, nil
	}
	if err != nil {
		return rollout.Layer{}, fmt.Errorf("read the group's profile: %w", err)
	}
	return updateLayer(storedValues(cfg)), nil
}
