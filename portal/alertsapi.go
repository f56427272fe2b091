package portal

import (
	"net/http"
	"strconv"
)

// The alerts' admin API and admin center page (docs/alerts.md).

const maxAlertsListed = 500

func (s *Server) alertRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /api/v1/admin/alerts", s.adminAPI(s.apiListAlerts))
	m.HandleFunc("POST /api/v1/admin/alerts/{id}/ack", s.adminAPI(s.apiAckAlert))
	m.HandleFunc("GET /api/v1/admin/webhooks", s.adminAPI(s.apiListWebhooks))
	m.HandleFunc("POST /api/v1/admin/webhooks", s.adminAPI(s.apiAddWebhook))
	m.HandleFunc("DELETE /api/v1/admin/webhooks/{id}", s.adminAPI(s.apiDeleteWebhook))

	m.HandleFunc("GET /admin/alerts", s.view(s.serveAlerts))
	m.HandleFunc("POST /admin/alerts/{id}/ack", s.action(s.serveAckPost))
	m.HandleFunc("POST /admin/webhooks", s.action(s.serveWebhookPost))
	m.HandleFunc("POST /admin/webhooks/{id}/delete", s.action(s.serveWebhookDeletePost))
}

// alertState reads ?state=: "open", "resolved", or "" for both.
func alertState(r *http.Request) (string, *httpError) {
	switch st := r.URL.Query().Get("state"); st {
	case "", "all":
		return "", nil
	case alertOpen, alertResolved:
		return st, nil
	default:
		return "", errorf(http.StatusBadRequest, "state must be open, resolved or all, not %q.", st)
	}
}

type alertsAnswer struct {
	Alerts []Alert `json:"alerts"`
	// Open counts the open alerts of each kind.
	Open map[string]int64 `json:"open"`
}

func (s *Server) apiListAlerts(w http.ResponseWriter, r *http.Request, _ apiToken) {
	st, herr := alertState(r)
	if herr != nil {
		writeHTTPError(w, herr)
		return
	}
	alerts, err := s.listAlerts(st, maxAlertsListed)
	var open map[string]int64
	if err == nil {
		open, err = s.openAlertsByKind()
	}
	if err != nil {
		writeHTTPError(w, s.storeFailure("list the alerts", err))
		return
	}
	writeJSON(w, http.StatusOK, alertsAnswer{Alerts: alerts, Open: open})
}

func pathID(r *http.Request, what string) (int64, *httpError) {
	v := r.PathValue("id")
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, errorf(http.StatusNotFound, "There is no %s %q.", what, v)
	}
	return id, nil
}

func (s *Server) apiAckAlert(w http.ResponseWriter, r *http.Request, tok apiToken) {
	id, herr := pathID(r, "alert")
	if herr == nil {
		var al Alert
		if al, herr = s.ackAlert(id, s.apiWho(r, tok).actor, clientAddr(r)); herr == nil {
			writeJSON(w, http.StatusOK, al)
			return
		}
	}
	writeHTTPError(w, herr)
}

func (s *Server) apiListWebhooks(w http.ResponseWriter, r *http.Request, _ apiToken) {
	hooks, err := s.listWebhooks()
	if err != nil {
		writeHTTPError(w, s.storeFailure("list the webhooks", err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"webhooks": hooks})
}

// webhookRequest is the body of POST /api/v1/admin/webhooks.
type webhookRequest struct {
	URL    string `json:"url"`
	Secret string `json:"secret"` // "": the portal makes one and answers it, once
}

type webhookAnswer struct {
	Webhook Webhook `json:"webhook"`
	// Secret is the secret the portal made, shown this once; "" when the
	// request gave one.
	Secret string `json:"secret,omitempty"`
}

func (s *Server) apiAddWebhook(w http.ResponseWriter, r *http.Request, tok apiToken) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	var req webhookRequest
	if err := decodeStrict(body, &req); err != nil {
		writeJSON(w, http.StatusBadRequest, apiErrorBody{"Bad webhook: " + err.Error()})
		return
	}
	hook, made, herr := s.addWebhook(req.URL, req.Secret, s.apiWho(r, tok).actor, clientAddr(r))
	if herr != nil {
		writeHTTPError(w, herr)
		return
	}
	writeJSON(w, http.StatusCreated, webhookAnswer{Webhook: hook, Secret: made})
}

func (s *Server) apiDeleteWebhook(w http.ResponseWriter, r *http.Request, tok apiToken) {
	id, herr := pathID(r, "webhook")
	if herr == nil {
		herr = s.deleteWebhook(id, s.apiWho(r, tok).actor, clientAddr(r))
	}
	if herr != nil {
		writeHTTPError(w, herr)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// alertsPage is what the Alerts page shows.
type alertsPage struct {
	Open, Resolved []Alert
	Webhooks       []Webhook
	NewSecret      string // made for the webhook just added; shown once
	HookURL        string // the form's URL after an error
}

func (s *Server) alertsPageData(p *alertsPage) error {
	all, err := s.listAlerts("", maxAlertsListed)
	if err != nil {
		return err
	}
	for _, a := range all {
		if a.State == alertOpen {
			p.Open = append(p.Open, a)
		} else {
			p.Resolved = append(p.Resolved, a)
		}
	}
	p.Webhooks, err = s.listWebhooks()
	return err
}

func (s *Server) renderAlerts(w http.ResponseWriter, sess *session, status int, p page, ap alertsPage) {
	if err := s.alertsPageData(&ap); err != nil {
		s.log.Error("alerts page", "err", err)
		p.Error = "Could not read the alerts: the portal's log has the details."
		status = http.StatusInternalServerError
	}
	p.Alerts = &ap
	s.render(w, status, "alerts", p)
}

func (s *Server) serveAlerts(w http.ResponseWriter, r *http.Request, sess *session) {
	s.renderAlerts(w, sess, http.StatusOK, s.base(sess, "alerts", "Alerts"), alertsPage{})
}

func (s *Server) serveAckPost(w http.ResponseWriter, r *http.Request, sess *session) {
	p := s.base(sess, "alerts", "Alerts")
	id, herr := pathID(r, "alert")
	var al Alert
	if herr == nil {
		al, herr = s.ackAlert(id, sess.email, clientAddr(r))
	}
	if herr != nil {
		p.Error = herr.msg
		s.renderAlerts(w, sess, herr.status, p, alertsPage{})
		return
	}
	p.Notice = "Acknowledged: " + al.Message
	s.renderAlerts(w, sess, http.StatusOK, p, alertsPage{})
}

func (s *Server) serveWebhookPost(w http.ResponseWriter, r *http.Request, sess *session) {
	p := s.base(sess, "alerts", "Alerts")
	u := r.PostForm.Get("url")
	hook, made, herr := s.addWebhook(u, r.PostForm.Get("secret"), sess.email, clientAddr(r))
	if herr != nil {
		p.Error = herr.msg
		s.renderAlerts(w, sess, herr.status, p, alertsPage{HookURL: u})
		return
	}
	p.Notice = "Alerts are now sent to " + hook.URL + "."
	s.renderAlerts(w, sess, http.StatusOK, p, alertsPage{NewSecret: made})
}

func (s *Server) serveWebhookDeletePost(w http.ResponseWriter, r *http.Request, sess *session) {
	p := s.base(sess, "alerts", "Alerts")
	id, herr := pathID(r, "webhook")
	if herr == nil {
		herr = s.deleteWebhook(id, sess.email, clientAddr(r))
	}
	if herr != nil {
		p.Error = herr.msg
		s.renderAlerts(w, sess, herr.status, p, alertsPage{})
		return
	}
	p.Notice = "Webhook removed."
	s.renderAlerts(w, sess, http.StatusOK, p, alertsPage{})
}

// openAlertCount is the number the nav shows beside "Alerts"; 0 when the
// database cannot say (the page itself then shows the error).
func (s *Server) openAlertCount() int {
	var n int
	if err := s.db.QueryRow("SELECT COUNT(*) FROM alerts WHERE state = ?", alertOpen).Scan(&n); err != nil {
		return 0
	}
	return n
}

// kindWord is an alert kind as the page says it.
func kindWord(k string) string {
	switch k {
	case AlertOffline:
		return "Offline"
	case AlertDevice:
		return "Device missing"
	case AlertUpdate:
		return "Update"
	case AlertDisk:
		return "Disk"
	}
	return k
}
