package portal

import (
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"roomkit/internal/textfield"
)

// Role is what an administrator or API token may do: a viewer reads, an
// admin also changes rooms, meetings, updates and tokens, an owner also
// manages the other administrators. docs/team.md has the whole table.
type Role string

// The roles, least power first.
const (
	RoleViewer Role = "viewer"
	RoleAdmin  Role = "admin"
	RoleOwner  Role = "owner"
)

func (r Role) rank() int {
	switch r {
	case RoleViewer:
		return 1
	case RoleAdmin:
		return 2
	case RoleOwner:
		return 3
	}
	return 0
}

// ParseRole checks a role's name.
func ParseRole(s string) (Role, error) {
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	if r.rank() == 0 {
		return "", fmt.Errorf("%q is not a role: use viewer, admin or owner", s)
	}
	return r, nil
}

// principal is whoever makes a request: a signed-in administrator or an
// API token.
type principal struct {
	actor string // for the audit log: an email, or token "NAME"
	role  Role
	// groups limit the principal to the rooms of these groups; empty
	// means the whole account.
	groups []string
	// adminID is the signed-in administrator's; 0 for a token.
	adminID int64
}

func (p principal) scoped() bool { return len(p.groups) > 0 }

func (p principal) inGroup(g string) bool { return g != "" && slices.Contains(p.groups, g) }

// target says what a request touches, so that a group-scoped principal
// is held to its groups.
type target int

const (
	// account: account-wide (administrators, tokens, fleet policy and
	// rollouts, the audit log, pairing): never for a group-scoped principal.
	account target = iota
	// own: lists that the handler cuts to the principal's groups, and the
	// principal's own account.
	own
	// room: the room {id}.
	room
	// meeting: the room of the meeting {meetingID}.
	meeting
	// policy: the update policy scope {scope} (fleet is account-wide).
	policy
	// group: the group {group}.
	group
)

// rule is the least role a route needs and what it touches.
type rule struct {
	role Role
	on   target
}

// accessRules holds a rule for every admin route, by its pattern as
// registered. A route without a rule is refused to everyone (and
// TestRBAC fails), so a new route cannot be open by omission.
var accessRules = map[string]rule{
	"GET /metrics": {RoleViewer, account},

	"GET /api/v1/admin/rooms":                   {RoleViewer, own},
	"GET /api/v1/admin/rooms/{id}":              {RoleViewer, room},
	"POST /api/v1/admin/pairings":               {RoleAdmin, account},
	"DELETE /api/v1/admin/pairings/{user_code}": {RoleAdmin, account},
	"DELETE /api/v1/admin/rooms/{id}":           {RoleAdmin, room},
	"PUT /api/v1/admin/rooms/{id}/group":        {RoleAdmin, room},

	"GET /api/v1/admin/rooms/{id}/meetings":     {RoleViewer, room},
	"POST /api/v1/admin/rooms/{id}/meetings":    {RoleAdmin, room},
	"DELETE /api/v1/admin/meetings/{meetingID}": {RoleAdmin, meeting},

	"POST /api/v1/admin/rooms/{id}/update":                   {RoleAdmin, room},
	"GET /api/v1/admin/update-policy/{scope}":                {RoleViewer, policy},
	"PUT /api/v1/admin/update-policy/{scope}":                {RoleAdmin, policy},
	"DELETE /api/v1/admin/update-policy/{scope}":             {RoleAdmin, policy},
	"GET /api/v1/admin/rollouts":                             {RoleViewer, account},
	"POST /api/v1/admin/rollouts/{channel}/{version}/pause":  {RoleAdmin, account},
	"POST /api/v1/admin/rollouts/{channel}/{version}/resume": {RoleAdmin, account},
	"GET /api/v1/admin/audit":                                {RoleAdmin, account},
	"GET /api/v1/admin/admins":                               {RoleAdmin, account},
	"POST /api/v1/admin/admins/invites":                      {RoleOwner, account},
	"DELETE /api/v1/admin/admins/{id}":                       {RoleOwner, account},
	"PUT /api/v1/admin/admins/{id}/role":                     {RoleOwner, account},
	"POST /api/v1/admin/admins/{id}/password-reset":          {RoleOwner, account},
	"POST /api/v1/admin/admins/{id}/revoke-sessions":         {RoleOwner, account},
	// Alerts are account-wide until their lists are cut to groups: a
	// group admin or viewer is refused (docs/team.md).
	"GET /api/v1/admin/alerts":                        {RoleViewer, account},
	"POST /api/v1/admin/alerts/{id}/ack":              {RoleAdmin, account},
	"GET /api/v1/admin/webhooks":                      {RoleAdmin, account},
	"POST /api/v1/admin/webhooks":                     {RoleAdmin, account},
	"DELETE /api/v1/admin/webhooks/{id}":              {RoleAdmin, account},
	"GET /admin/alerts":                               {RoleViewer, account},
	"POST /admin/alerts/{id}/ack":                     {RoleAdmin, account},
	"POST /admin/webhooks":                            {RoleAdmin, account},
	"POST /admin/webhooks/{id}/delete":                {RoleAdmin, account},
	"POST /admin/logout":                              {RoleViewer, own},
	"GET /admin/rooms":                                {RoleViewer, own},
	"GET /admin/pair":                                 {RoleAdmin, account},
	"POST /admin/pair":                                {RoleAdmin, account},
	"POST /admin/deny":                                {RoleAdmin, account},
	"GET /admin/rooms/{id}/unpair":                    {RoleAdmin, room},
	"POST /admin/rooms/{id}/unpair":                   {RoleAdmin, room},
	"POST /admin/rooms/{id}/group":                    {RoleAdmin, room},
	"GET /admin/tokens":                               {RoleAdmin, account},
	"POST /admin/tokens":                              {RoleAdmin, account},
	"POST /admin/tokens/{id}/revoke":                  {RoleAdmin, account},
	"GET /admin/audit":                                {RoleAdmin, account},
	"GET /admin/account":                              {RoleViewer, own},
	"POST /admin/account/password":                    {RoleViewer, own},
	"POST /admin/account/sign-out-everywhere":         {RoleViewer, own},
	"POST /admin/account/time-zone":                   {RoleViewer, own},
	"GET /admin/team":                                 {RoleAdmin, account},
	"POST /admin/team/invite":                         {RoleOwner, account},
	"POST /admin/team/{id}/remove":                    {RoleOwner, account},
	"POST /admin/team/{id}/role":                      {RoleOwner, account},
	"POST /admin/team/{id}/reset":                     {RoleOwner, account},
	"POST /admin/team/{id}/revoke-sessions":           {RoleOwner, account},
	"GET /admin/rooms/{id}/meetings":                  {RoleViewer, room},
	"POST /admin/rooms/{id}/meetings":                 {RoleAdmin, room},
	"POST /admin/meetings/{meetingID}/delete":         {RoleAdmin, meeting},
	"POST /admin/rooms/{id}/update":                   {RoleAdmin, room},
	"GET /admin/updates":                              {RoleViewer, account},
	"POST /admin/updates/policy":                      {RoleAdmin, account},
	"POST /admin/rollouts/{channel}/{version}/pause":  {RoleAdmin, account},
	"POST /admin/rollouts/{channel}/{version}/resume": {RoleAdmin, account},

	// Remote actions and the room page (roompage.go). Fetching logs asks
	// the kit to act, and its lines may name addresses and people: admins.
	"GET /admin/rooms/{id}":                  {RoleViewer, room},
	"POST /admin/rooms/{id}/actions/{kind}":  {RoleAdmin, room},
	"POST /api/v1/admin/rooms/{id}/restart":  {RoleAdmin, room},
	"POST /api/v1/admin/rooms/{id}/reboot":   {RoleAdmin, room},
	"POST /api/v1/admin/rooms/{id}/identify": {RoleAdmin, room},
	"GET /api/v1/admin/rooms/{id}/logs":      {RoleAdmin, room},
	"POST /api/v1/admin/rooms/{id}/logs":     {RoleAdmin, room},

	// Configuration profiles (profiles.go, docs/profiles.md). Everyone
	// reads the profiles (they hold no secret; a group admin picks one
	// for its rooms); only account-wide admins write them, as a change
	// reaches every group using them. Group admins assign profiles to
	// their own groups and rooms, and set their rooms' overrides.
	"GET /api/v1/admin/profiles":                  {RoleViewer, own},
	"POST /api/v1/admin/profiles":                 {RoleAdmin, account},
	"GET /api/v1/admin/profiles/{id}":             {RoleViewer, own},
	"PUT /api/v1/admin/profiles/{id}":             {RoleAdmin, account},
	"DELETE /api/v1/admin/profiles/{id}":          {RoleAdmin, account},
	"PUT /api/v1/admin/groups/{group}/profile":    {RoleAdmin, group},
	"DELETE /api/v1/admin/groups/{group}/profile": {RoleAdmin, group},
	"PUT /api/v1/admin/rooms/{id}/profile":        {RoleAdmin, room},
	"DELETE /api/v1/admin/rooms/{id}/profile":     {RoleAdmin, room},
	"GET /api/v1/admin/rooms/{id}/config":         {RoleViewer, room},
	"PUT /api/v1/admin/rooms/{id}/config":         {RoleAdmin, room},
	"DELETE /api/v1/admin/rooms/{id}/config":      {RoleAdmin, room},
	"GET /admin/profiles":                         {RoleViewer, own},
	"POST /admin/profiles":                        {RoleAdmin, account},
	"GET /admin/profiles/{id}":                    {RoleViewer, own},
	"POST /admin/profiles/{id}":                   {RoleAdmin, account},
	"POST /admin/profiles/{id}/delete":            {RoleAdmin, account},
	"POST /admin/groups/{group}/profile":          {RoleAdmin, group},
	"POST /admin/rooms/{id}/config":               {RoleAdmin, room},
}

// refusedMark starts every refusal's sentence; tests tell an RBAC
// refusal from a handler's own 403 by it.
const refusedMark = "Not allowed: "

// authorize answers nil if p may make request r, or the refusal (403)
// in words. It needs r.Pattern, which the mux sets.
func (s *Server) authorize(r *http.Request, p principal) *httpError {
	ru, ok := accessRules[r.Pattern]
	if !ok {
		// Fail closed: a route someone forgot to give a rule.
		s.log.Error("admin route has no access rule; refused", "pattern", r.Pattern)
		return errorf(http.StatusForbidden, refusedMark+"this part of the admin center has no access rule yet, so it is refused to everyone.")
	}
	if p.role.rank() < ru.role.rank() {
		what := "change anything"
		switch ru.role {
		case RoleAdmin:
			if r.Method == http.MethodGet {
				what = "see this"
			}
		case RoleOwner:
			what = "manage administrators"
		}
		return errorf(http.StatusForbidden, refusedMark+"the %s role may not %s; ask an %s of the account.", p.role, what, ru.role)
	}
	if !p.scoped() || ru.on == own {
		return nil
	}
	outside := errorf(http.StatusForbidden, refusedMark+"you manage only the rooms of the groups %s, and this is not one of them.", strings.Join(p.groups, ", "))
	var grp string
	switch ru.on {
	case account:
		return errorf(http.StatusForbidden, refusedMark+"this is account-wide, and you manage only the groups %s.", strings.Join(p.groups, ", "))
	case room:
		g, err := s.roomGroup(r.PathValue("id"))
		if err != nil {
			return s.scopeFailure(err, outside)
		}
		grp = g
	case meeting:
		id, err := parseMeetingID(r.PathValue("meetingID"))
		if err != nil {
			return outside
		}
		var roomID string
		if err := s.db.QueryRow("SELECT room_id FROM meetings WHERE id = ?", id).Scan(&roomID); err != nil {
			return s.scopeFailure(err, outside)
		}
		if grp, err = s.roomGroup(roomID); err != nil {
			return s.scopeFailure(err, outside)
		}
	case group:
		grp = r.PathValue("group")
	case policy:
		scope := r.PathValue("scope")
		switch {
		case strings.HasPrefix(scope, scopeGrp):
			grp = strings.TrimPrefix(scope, scopeGrp)
		case strings.HasPrefix(scope, scopeRoom):
			g, err := s.roomGroup(strings.TrimPrefix(scope, scopeRoom))
			if err != nil {
				return s.scopeFailure(err, outside)
			}
			grp = g
		default: // the fleet, or no scope at all
			return errorf(http.StatusForbidden, refusedMark+"the fleet's policy is account-wide, and you manage only the groups %s.", strings.Join(p.groups, ", "))
		}
	}
	if !p.inGroup(grp) {
		return outside
	}
	return nil
}

// scopeFailure: a group-scoped principal asking about a room or meeting
// that does not exist is refused like one outside its groups, so that it
// cannot probe other groups' IDs.
func (s *Server) scopeFailure(err error, outside *httpError) *httpError {
	if errors.Is(err, errNotFound) || errors.Is(err, sql.ErrNoRows) {
		return outside
	}
	return s.storeFailure("check your access", err)
}

// roomGroup is the group of room id.
func (s *Server) roomGroup(id string) (string, error) {
	m, err := s.roomMeta(id)
	if err != nil {
		return "", err
	}
	return m.group, nil
}

// parseGroups reads group names, one per line or separated by commas,
// each one line of 1 to maxGroup characters; duplicates are dropped.
func parseGroups(s string) ([]string, error) {
	var out []string
	for _, g := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' }) {
		g = strings.TrimSpace(g)
		if g == "" {
			continue
		}
		if err := textfield.Check(g, maxGroup); err != nil {
			return nil, fmt.Errorf("the group %q must be one line of 1 to %d characters", g, maxGroup)
		}
		if !slices.Contains(out, g) {
			out = append(out, g)
		}
	}
	return out, nil
}

// storedGroups is how groups are kept: one per line (” for none).
func storedGroups(gs []string) string { return strings.Join(gs, "\n") }

func loadGroups(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}
