package portal

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

type adminHandler func(w http.ResponseWriter, r *http.Request, tok apiToken)

// adminAPI authenticates the admin API token before calling h.
func (s *Server) adminAPI(h adminHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		secret, ok := bearer(r.Header.Get("Authorization"))
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="roomkit admin"`)
			writeJSON(w, http.StatusUnauthorized, apiErrorBody{"This API needs an admin API token: send \"Authorization: Bearer <token>\"."})
			return
		}
		tok, err := s.apiTokenByBearer(secret)
		if errors.Is(err, errNotFound) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="roomkit admin", error="invalid_token"`)
			writeJSON(w, http.StatusUnauthorized, apiErrorBody{"The admin API token is unknown or was revoked."})
			return
		}
		if err != nil {
			herr := s.storeFailure("check the token", err)
			writeHTTPError(w, herr)
			return
		}
		if tok.Expired {
			w.Header().Set("WWW-Authenticate", `Bearer realm="roomkit admin", error="invalid_token", error_description="token expired"`)
			writeJSON(w, http.StatusUnauthorized, apiErrorBody{fmt.Sprintf(
				"The admin API token %q expired on %s. Make a new one in the admin center or with \"portal token create\".",
				tok.Name, tok.Expires.UTC().Format("2006-01-02 15:04 UTC"))})
			return
		}
		if herr := s.authorize(r, tok.principal()); herr != nil {
			writeHTTPError(w, herr)
			return
		}
		h(w, r, tok)
	}
}

// answerJSON writes what a handler's call returned: its value as JSON
// (200), or its error. answerJSON(w)(s.call(…)) takes both results.
func answerJSON(w http.ResponseWriter) func(any, *httpError) {
	return func(v any, herr *httpError) {
		if herr != nil {
			writeHTTPError(w, herr)
			return
		}
		writeJSON(w, http.StatusOK, v)
	}
}

func writeHTTPError(w http.ResponseWriter, herr *httpError) {
	if herr.retry > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((herr.retry+time.Second-1)/time.Second)))
	}
	writeJSON(w, herr.status, apiErrorBody{herr.msg})
}

func (s *Server) apiWho(r *http.Request, tok apiToken) codeAttempt {
	addr := clientAddr(r)
	return codeAttempt{
		actor: "token " + strconv.Quote(tok.Name),
		addr:  addr,
		keys:  []string{"token:" + strconv.FormatInt(tok.ID, 10), "addr:" + addr},
	}
}

// apiListRooms serves GET /api/v1/admin/rooms: the rooms matching the
// filters, a JSON array as before issue 14. With page or per_page it
// answers one page; X-Total-Count always says how many rooms match, and
// a paged answer has an RFC 8288 Link header (first, prev, next, last).
func (s *Server) apiListRooms(w http.ResponseWriter, r *http.Request, tok apiToken) {
	q := r.URL.Query()
	f, err := parseFleetQuery(q, false)
	if err == nil {
		err = checkFleetParams(q)
	}
	if err != nil {
		writeJSON(w, http.StatusBadRequest, apiErrorBody{err.Error()})
		return
	}
	res, err := s.fleetRooms(f, tok.principal().groups)
	if err != nil {
		s.log.Error("list rooms", "err", err)
		writeJSON(w, http.StatusInternalServerError, apiErrorBody{"Could not list the rooms."})
		return
	}
	w.Header().Set("X-Total-Count", strconv.Itoa(res.Total))
	if f.PerPage > 0 {
		w.Header().Set("Link", s.fleetLinks(f, res))
	}
	writeJSON(w, http.StatusOK, res.Rooms)
}

// fleetLinks is the Link header of a page of the API's room list.
func (s *Server) fleetLinks(f fleetQuery, res fleetPage) string {
	link := func(page int, rel string) string {
		v := f.values(page)
		if page == 1 {
			v.Set("page", "1") // the API's default is unpaged
		}
		if f.PerPage == fleetPerPage {
			v.Set("per_page", strconv.Itoa(f.PerPage))
		}
		return fmt.Sprintf(`<%s/api/v1/admin/rooms?%s>; rel="%s"`, s.url, v.Encode(), rel)
	}
	links := []string{link(1, "first")}
	if f.Page > 1 {
		links = append(links, link(min(f.Page-1, res.Pages), "prev"))
	}
	if f.Page < res.Pages {
		links = append(links, link(f.Page+1, "next"))
	}
	return strings.Join(append(links, link(res.Pages, "last")), ", ")
}

// parsePairRequest decodes the JSON body of POST /api/v1/admin/pairings.
func parsePairRequest(body []byte) (pairRequest, error) {
	var req pairRequest
	if err := decodeStrict(body, &req); err != nil {
		return req, err
	}
	return req, nil
}

func (s *Server) apiPair(w http.ResponseWriter, r *http.Request, tok apiToken) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	req, err := parsePairRequest(body)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, apiErrorBody{"Bad pairing request: " + err.Error()})
		return
	}
	room, herr := s.pairRoom(s.apiWho(r, tok), req)
	if herr != nil {
		writeHTTPError(w, herr)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]Room{"room": room})
}

func (s *Server) apiDeny(w http.ResponseWriter, r *http.Request, tok apiToken) {
	if herr := s.denyCode(s.apiWho(r, tok), r.PathValue("user_code")); herr != nil {
		writeHTTPError(w, herr)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) apiUnpair(w http.ResponseWriter, r *http.Request, tok apiToken) {
	who := s.apiWho(r, tok)
	if _, herr := s.unpairRoom(who.actor, who.addr, r.PathValue("id")); herr != nil {
		writeHTTPError(w, herr)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
