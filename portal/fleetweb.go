package portal

import (
	"fmt"
	"net/http"
	"net/url"
	"time"

	"roomkit/health"
	"roomkit/ota"
)

// The rooms page's fleet view: counts on top, the filter form, one page
// of rooms, and the links to the pages around it. Every link carries the
// filters, so a filtered view can be bookmarked and shared.

// fleetView is what the rooms page shows besides the rows.
type fleetView struct {
	Counts   fleetCounts
	CountsOf string // "42 rooms", "1 room"
	// AttentionOf and OfflineOf are the other counts in words: "3 need
	// attention", "1 needs attention", "2 offline".
	AttentionOf, OfflineOf string
	Form                   filterForm
	Choices                fleetChoices
	Health, Update         []option
	Online, Attention      []option
	Sort                   []option
	Filtered               bool
	// Total rooms match; the page shows From to To of them, of Pages.
	Total, From, To, Page, Pages int
	First, Prev, Next, Last      string // page links, "" where there is none
	rooms                        []Room
}

// filterForm is the filter form's fields as typed.
type filterForm struct {
	Group, Location, Version, Q string
}

// option is one choice of a select field.
type option struct {
	Value, Label string
	Selected     bool
}

func options(current string, pairs ...string) []option {
	var out []option
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, option{Value: pairs[i], Label: pairs[i+1], Selected: pairs[i] == current})
	}
	return out
}

func boolString(b *bool) string {
	if b == nil {
		return ""
	}
	return fmt.Sprint(*b)
}

// fleetPageView answers f within scope (fleetQuery.where) for the rooms
// page, and the status to answer with: 400 when the URL's filters are wrong (ferr), for the form to show
// them with the error. A page after the last shows the last.
func (s *Server) fleetPageView(f fleetQuery, ferr error, scope []string) (*fleetView, int, error) {
	v := &fleetView{Form: filterForm{Group: f.Group, Location: f.Location, Version: f.Version, Q: f.Q}, Page: 1, Pages: 1}
	v.Health = options(f.Health, "", "Any health", "ok", "OK", "degraded", "Degraded", "failed", "Failed", healthUnknown, "Not reported")
	v.Update = options(f.Update, "", "Any update state",
		string(ota.Idle), "Idle", string(ota.Checking), "Checking", string(ota.Downloading), "Downloading",
		string(ota.Installing), "Installing", string(ota.Rebooting), "Rebooting", string(ota.Healthy), "Updated",
		string(ota.Failed), "Update failed", string(ota.RolledBack), "Rolled back", updateNone, "Not reported")
	v.Online = options(boolString(f.Online), "", "Online or offline", "true", "Online", "false", "Offline")
	v.Attention = options(boolString(f.Attention), "", "Any condition", "true", "Needs attention", "false", "Nothing wrong")
	v.Sort = options(f.Sort, sortAttention, "Needs attention first", sortName, "By name")
	v.Filtered = f.filtered()
	var err error
	if v.Counts, err = s.countFleet(scope); err != nil {
		return v, http.StatusInternalServerError, err
	}
	v.CountsOf = plural(v.Counts.Rooms, "room", "rooms")
	v.AttentionOf = plural(v.Counts.Attention, "needs attention", "need attention")
	v.OfflineOf = fmt.Sprintf("%d offline", v.Counts.Offline)
	if v.Choices, err = s.fleetChoices(scope); err != nil {
		return v, http.StatusInternalServerError, err
	}
	if ferr != nil {
		return v, http.StatusBadRequest, nil
	}
	res, err := s.fleetRooms(f, scope)
	if err == nil && len(res.Rooms) == 0 && f.Page > res.Pages {
		f.Page = res.Pages
		res, err = s.fleetRooms(f, scope)
	}
	if err != nil {
		return v, http.StatusInternalServerError, err
	}
	v.rooms, v.Total, v.Page, v.Pages = res.Rooms, res.Total, f.Page, res.Pages
	if len(res.Rooms) > 0 {
		v.From = (f.Page-1)*f.PerPage + 1
		v.To = v.From + len(res.Rooms) - 1
	}
	link := func(page int) string {
		q := f.values(page)
		if len(q) == 0 {
			return "/admin/rooms"
		}
		return "/admin/rooms?" + q.Encode()
	}
	if f.Page > 1 {
		v.First, v.Prev = link(1), link(f.Page-1)
	}
	if f.Page < res.Pages {
		v.Next, v.Last = link(f.Page+1), link(res.Pages)
	}
	return v, http.StatusOK, nil
}

// fleetURL is the rooms page with only the given filters.
func fleetURL(v url.Values) string { return "/admin/rooms?" + v.Encode() }

// AttentionURL and OfflineURL are where the counts lead.
func (v *fleetView) AttentionURL() string { return fleetURL(url.Values{"attention": {"true"}}) }
func (v *fleetView) OfflineURL() string   { return fleetURL(url.Values{"online": {"false"}}) }

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// maxProblemLines bounds the health problems a row lists; the room's own
// page (issue 14, item 2) has them all.
const maxProblemLines = 3

// newRoomView is a room as a row of the rooms page says it.
func newRoomView(rm Room, now time.Time) roomView {
	v := roomView{Room: rm, Seen: "never", UpdateState: updateState(rm.Update),
		UpdateWarn: rm.Update != nil && (rm.Update.State == ota.Failed || rm.Update.State == ota.RolledBack)}
	if rm.LastSeen != nil {
		v.Seen = relTime(now, *rm.LastSeen)
	}
	v.Attention = v.UpdateWarn
	if h := rm.Health; h != nil && h.Status != health.OK {
		v.Attention = true
		ps := h.Problems()
		for i, p := range ps {
			if i == maxProblemLines {
				v.Problems = append(v.Problems, fmt.Sprintf("and %d more", len(ps)-i))
				break
			}
			v.Problems = append(v.Problems, p.Line())
		}
		if len(ps) == 0 {
			v.Problems = []string{"Health: " + string(h.Status)}
		}
	}
	return v
}
