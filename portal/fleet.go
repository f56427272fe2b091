package portal

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"roomkit/health"
	"roomkit/internal/textfield"
	"roomkit/ota"
)

// The fleet view (issue 14): the rooms page and GET /api/v1/admin/rooms
// filter, count, sort and page rooms in SQL, on the columns migration 10
// derives from the kits' reports, so a page of 10,000 rooms costs a few
// indexed queries and 50 rows decoded rather than every room in Go.

// healthStatusColumn is rooms.health_status for a heartbeat's report: nil
// (none in this heartbeat) keeps the stored one. A status this portal
// does not know counts as failed, as health.Status ranks it: a newer
// kit's report never reads better than it is.
func healthStatusColumn(h *health.Report) any {
	switch {
	case h == nil:
		return nil
	case h.Status == health.OK || h.Status == health.Degraded:
		return string(h.Status)
	}
	return string(health.Failed)
}

// updateStateColumn is rooms.update_state for a heartbeat's update
// report: nil keeps the stored one.
func updateStateColumn(u *ota.Report) any {
	if u == nil {
		return nil
	}
	return string(u.State)
}

// attentionSQL is rooms.attention from SQL expressions for health_status
// and update_state: 2 failed health, 1 degraded health or a failed or
// rolled-back update, 0 otherwise (as migration 10 derives it).
func attentionSQL(healthStatus, updateState string) string {
	return fmt.Sprintf(`CASE WHEN %[1]s = 'failed' THEN 2 WHEN %[1]s = 'degraded' OR %[2]s IN ('failed', 'rolled-back') THEN 1 ELSE 0 END`,
		healthStatus, updateState)
}

// fleetQuery is one view of the fleet: filters, order and page. The zero
// value is every room, those needing attention first.
type fleetQuery struct {
	Group    string // rooms.grp, exactly
	Location string // exactly, ignoring case
	Health   string // ok, degraded, failed, unknown
	Version  string // the running version, exactly
	Update   string // an ota.State, or none
	Online   *bool
	// Attention keeps the rooms that need attention (true) or those that
	// do not (false): degraded or failed health, a failed or rolled-back
	// update.
	Attention *bool
	Q         string // part of the room's name, ignoring case
	Sort      string // "attention" (the default) or "name"
	Page      int    // from 1
	PerPage   int    // 0: every matching room on one page
}

const (
	fleetPerPage    = 50  // the rooms page, and the API once it pages
	fleetMaxPerPage = 500 // per_page's ceiling
	fleetMaxPage    = 1_000_000
	sortAttention   = "attention"
	sortName        = "name"
	updateNone      = "none"
	healthUnknown   = "unknown"
)

var (
	healthFilters = []string{"ok", "degraded", "failed", healthUnknown}
	updateFilters = []string{string(ota.Idle), string(ota.Checking), string(ota.Downloading), string(ota.Installing),
		string(ota.Rebooting), string(ota.Healthy), string(ota.Failed), string(ota.RolledBack), updateNone}
	// fleetParams are the query parameters the API takes; it refuses
	// others, so a misspelt filter is not silently every room.
	fleetParams = []string{"group", "location", "health", "version", "update", "online", "attention", "q", "sort", "page", "per_page"}
)

// parseFleetQuery reads a fleet view from URL query parameters. paged
// says whether the view has pages when neither page nor per_page is
// given: the rooms page has, the API answers every room then, as it did
// before it had pages. The error is a sentence for the admin.
func parseFleetQuery(v url.Values, paged bool) (fleetQuery, error) {
	var f fleetQuery
	for _, name := range fleetParams {
		if len(v[name]) > 1 {
			return f, fmt.Errorf("Give the %s parameter once, not %d times.", name, len(v[name]))
		}
	}
	get := func(name string) string { return strings.TrimSpace(v.Get(name)) }
	f.Group, f.Location, f.Version, f.Q = get("group"), get("location"), get("version"), get("q")
	for _, t := range []struct {
		what, v string
		max     int
	}{{"group", f.Group, maxGroup}, {"location", f.Location, maxRoomFieldRunes},
		{"version", f.Version, maxVersionLen}, {"search text", f.Q, maxRoomFieldRunes}} {
		if err := textfield.Check(t.v, t.max); err != nil {
			return f, fmt.Errorf("The %s %v.", t.what, err)
		}
	}
	f.Health = get("health")
	if f.Health != "" && !slices.Contains(healthFilters, f.Health) {
		return f, fmt.Errorf("The health filter %q is not one of %s.", f.Health, strings.Join(healthFilters, ", "))
	}
	f.Update = get("update")
	if f.Update != "" && !slices.Contains(updateFilters, f.Update) {
		return f, fmt.Errorf("The update filter %q is not one of %s.", f.Update, strings.Join(updateFilters, ", "))
	}
	var err error
	if f.Online, err = parseBoolFilter("online", get("online")); err != nil {
		return f, err
	}
	if f.Attention, err = parseBoolFilter("attention", get("attention")); err != nil {
		return f, err
	}
	switch f.Sort = get("sort"); f.Sort {
	case "":
		f.Sort = sortAttention
	case sortAttention, sortName:
	default:
		return f, fmt.Errorf("The sort order %q is not one of attention, name.", f.Sort)
	}
	page, perPage := get("page"), get("per_page")
	f.Page = 1
	if page != "" {
		if f.Page, err = strconv.Atoi(page); err != nil || f.Page < 1 || f.Page > fleetMaxPage {
			return f, fmt.Errorf("The page %q is not a page number: use 1, 2, 3 and so on.", page)
		}
	}
	if paged || page != "" || perPage != "" {
		f.PerPage = fleetPerPage
	}
	if perPage != "" {
		if f.PerPage, err = strconv.Atoi(perPage); err != nil || f.PerPage < 1 || f.PerPage > fleetMaxPerPage {
			return f, fmt.Errorf("per_page %q must be a number of rooms from 1 to %d.", perPage, fleetMaxPerPage)
		}
	}
	return f, nil
}

func parseBoolFilter(name, v string) (*bool, error) {
	switch v {
	case "":
		return nil, nil
	case "true":
		return new(true), nil
	case "false":
		return new(false), nil
	}
	return nil, fmt.Errorf("The %s filter %q must be true or false.", name, v)
}

// checkFleetParams refuses query parameters the API does not know.
func checkFleetParams(v url.Values) error {
	var unknown []string
	for name := range v {
		if !slices.Contains(fleetParams, name) {
			unknown = append(unknown, strconv.Quote(name))
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	slices.Sort(unknown)
	return fmt.Errorf("Unknown parameter %s: this list takes %s.", strings.Join(unknown, ", "), strings.Join(fleetParams, ", "))
}

// filtered says whether f leaves out any room.
func (f fleetQuery) filtered() bool {
	return f.Group != "" || f.Location != "" || f.Health != "" || f.Version != "" || f.Update != "" ||
		f.Online != nil || f.Attention != nil || f.Q != ""
}

// values is f as URL query parameters, leaving out defaults, with the
// page set to page (none for 1): the links of the rooms page and the
// API's Link header.
func (f fleetQuery) values(page int) url.Values {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("group", f.Group)
	set("location", f.Location)
	set("health", f.Health)
	set("version", f.Version)
	set("update", f.Update)
	if f.Online != nil {
		v.Set("online", strconv.FormatBool(*f.Online))
	}
	if f.Attention != nil {
		v.Set("attention", strconv.FormatBool(*f.Attention))
	}
	set("q", f.Q)
	if f.Sort != sortAttention {
		set("sort", f.Sort)
	}
	if page > 1 {
		v.Set("page", strconv.Itoa(page))
	}
	if f.PerPage != 0 && f.PerPage != fleetPerPage {
		v.Set("per_page", strconv.Itoa(f.PerPage))
	}
	return v
}

// likeEscaper makes typed text literal in a LIKE pattern (ESCAPE '\').
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// where is f's filters as SQL, at now (online is a heartbeat within
// onlineWindow, as queryRooms says), within scope: the groups a group
// admin may see (none: the whole account).
func (f fleetQuery) where(now time.Time, scope []string) (string, []any) {
	var conds []string
	var args []any
	add := func(cond string, arg any) {
		conds = append(conds, cond)
		args = append(args, arg)
	}
	if len(scope) > 0 {
		conds = append(conds, "grp IN (?"+strings.Repeat(", ?", len(scope)-1)+")")
		for _, g := range scope {
			args = append(args, g)
		}
	}
	if f.Group != "" {
		add("grp = ?", f.Group)
	}
	if f.Location != "" {
		add("location = ? COLLATE NOCASE", f.Location)
	}
	if f.Health != "" {
		add("health_status = ?", f.Health)
	}
	if f.Version != "" {
		add("version = ?", f.Version)
	}
	if f.Update != "" {
		add("update_state = ?", f.Update)
	}
	if f.Online != nil {
		if *f.Online {
			add("last_seen > ?", onlineSince(now))
		} else {
			add("last_seen <= ?", onlineSince(now))
		}
	}
	if f.Attention != nil {
		if *f.Attention {
			conds = append(conds, "attention > 0")
		} else {
			conds = append(conds, "attention = 0")
		}
	}
	if f.Q != "" {
		add(`lower(name) LIKE lower(?) ESCAPE '\'`, "%"+likeEscaper.Replace(f.Q)+"%")
	}
	if len(conds) == 0 {
		return "", nil
	}
	return "WHERE " + strings.Join(conds, " AND "), args
}

// onlineSince is the rooms.last_seen (Unix ms) a heartbeat must be newer
// than for its room to be online at now.
func onlineSince(now time.Time) int64 { return now.Add(-onlineWindow).UnixMilli() }

// orderBy is f's order: by default what needs attention first (failed
// health, then degraded or a failed update), offline before online, then
// by name.
func (f fleetQuery) orderBy(now time.Time) (string, []any) {
	if f.Sort == sortName {
		return "ORDER BY name COLLATE NOCASE, id", nil
	}
	return "ORDER BY attention DESC, last_seen > ?, name COLLATE NOCASE, id", []any{onlineSince(now)}
}

// index names the index that serves f. SQLite's planner, without
// statistics, reads table rows (each with its health tree) to sort on an
// expression or to check the filters an index lacks: 20 to 90 ms with
// 10,000 rooms. The covering indexes of migration 10 have every column
// the filters, the search and the order need: a few ms.
func (f fleetQuery) index(scope []string) string {
	switch {
	case len(scope) > 0 || f.Group != "" || f.Location != "" || f.Health != "" || f.Version != "" || f.Update != "" || f.Online != nil:
		return "INDEXED BY rooms_filters "
	case f.Sort == sortName && f.Attention == nil:
		return "INDEXED BY rooms_name "
	}
	return "INDEXED BY rooms_fleet "
}

// fleetPage is one page of a fleet view.
type fleetPage struct {
	Rooms   []Room
	Total   int // rooms matching the filters, on every page
	Page    int
	PerPage int // 0: not paged
	Pages   int // at least 1
}

// fleetRooms answers a fleet view. A page after the last is empty; its
// Total and Pages say where the rooms are.
func (s *Server) fleetRooms(f fleetQuery, scope []string) (fleetPage, error) {
	// Heartbeats reach SQLite once a second; filters must see the ones
	// the rows will show.
	if err := s.flushLive(); err != nil {
		s.logStoreError("flush heartbeats", err)
	}
	now := s.now()
	where, args := f.where(now, scope)
	res := fleetPage{Page: f.Page, PerPage: f.PerPage, Pages: 1}
	from := "FROM rooms " + f.index(scope)
	if err := s.db.QueryRow("SELECT count(*) "+from+where, args...).Scan(&res.Total); err != nil {
		return res, fmt.Errorf("count rooms: %w", err)
	}
	order, orderArgs := f.orderBy(now)
	inner := "SELECT rowid " + from + where + " " + order
	innerArgs := append(append([]any{}, args...), orderArgs...)
	if f.PerPage > 0 {
		res.Pages = max(1, (res.Total+f.PerPage-1)/f.PerPage)
		inner += " LIMIT ? OFFSET ?"
		innerArgs = append(innerArgs, f.PerPage, (f.Page-1)*f.PerPage)
	}
	// Sort and cut on the narrow index first, then read the page's rows
	// with their reports: sorting 10,000 full rows would copy every
	// health tree.
	rooms, err := s.scanRooms("WHERE rowid IN ("+inner+") "+order, append(innerArgs, orderArgs...)...)
	if err != nil {
		return res, err
	}
	res.Rooms = rooms
	return res, nil
}

// fleetCounts is the line on top of the rooms page, over every room in
// scope (a group admin's groups; nil: the account).
type fleetCounts struct {
	Rooms     int
	Attention int // degraded or failed health, a failed or rolled-back update
	Offline   int // no heartbeat within onlineWindow, or never one
}

func (s *Server) countFleet(scope []string) (fleetCounts, error) {
	var c fleetCounts
	where, args := fleetQuery{}.where(s.now(), scope)
	index := "INDEXED BY rooms_fleet "
	if len(scope) > 0 {
		index = "INDEXED BY rooms_filters "
	}
	err := s.db.QueryRow(`SELECT count(*), count(CASE WHEN attention > 0 THEN 1 END), count(CASE WHEN last_seen <= ? THEN 1 END) FROM rooms `+index+where,
		append([]any{onlineSince(s.now())}, args...)...).Scan(&c.Rooms, &c.Attention, &c.Offline)
	if err != nil {
		return c, fmt.Errorf("count rooms: %w", err)
	}
	return c, nil
}

// fleetChoices are the values the filters' fields suggest.
type fleetChoices struct {
	Groups, Locations, Versions []string
}

// maxChoices bounds each suggestion list: beyond it people type. Each
// list is read from its own index (named: the planner would otherwise
// take the wide rooms_filters and cost 5 ms a list).
const maxChoices = 200

func (s *Server) fleetChoices(scope []string) (fleetChoices, error) {
	var c fleetChoices
	var errs []error
	// A group admin's suggestions come from their groups' rooms.
	in, args := fleetQuery{}.where(time.Time{}, scope)
	and := strings.Replace(in, "WHERE", "AND", 1)
	for _, q := range []struct {
		dst *[]string
		sql string
	}{
		{&c.Groups, "SELECT DISTINCT grp FROM rooms INDEXED BY rooms_grp WHERE grp != '' " + and + " ORDER BY grp LIMIT ?"},
		{&c.Locations, "SELECT DISTINCT location COLLATE NOCASE FROM rooms INDEXED BY rooms_location WHERE location != '' " + and + " ORDER BY 1 LIMIT ?"},
		{&c.Versions, "SELECT DISTINCT version FROM rooms INDEXED BY rooms_version WHERE version != '' " + and + " ORDER BY version LIMIT ?"},
	} {
		rows, err := s.db.Query(q.sql, append(append([]any{}, args...), maxChoices)...)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for rows.Next() {
			var v string
			if err := rows.Scan(&v); err != nil {
				errs = append(errs, err)
				break
			}
			*q.dst = append(*q.dst, v)
		}
		errs = append(errs, rows.Err(), rows.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return c, fmt.Errorf("list filter choices: %w", err)
	}
	return c, nil
}
