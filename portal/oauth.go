package portal

import (
	"crypto/ed25519"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"time"
	"unicode/utf8"

	"roomkit/internal/textfield"
	"roomkit/provisioning"
)

// Grant types (protocol.md §4).
const (
	grantDeviceCode        = "urn:ietf:params:oauth:grant-type:device_code"
	grantClientCredentials = "client_credentials"
)

// oauthError is an RFC 6749 §5.2 error answer.
type oauthError struct {
	Code        string `json:"error"`
	Description string `json:"error_description,omitempty"`
	status      int
	retry       time.Duration
	cause       error // for the log only: callers never see the database's words
}

func (e *oauthError) Error() string { return e.Code + ": " + e.Description }

func oauthErr(code, format string, args ...any) *oauthError {
	status := http.StatusBadRequest
	if code == "invalid_client" {
		status = http.StatusUnauthorized
	}
	return &oauthError{Code: code, Description: fmt.Sprintf(format, args...), status: status}
}

func writeOAuthError(w http.ResponseWriter, e *oauthError) {
	w.Header().Set("Cache-Control", "no-store")
	if e.retry > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((e.retry+time.Second-1)/time.Second)))
	}
	writeJSON(w, e.status, e)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.Encode(v)
}

// portalDate stamps every answer's Date header with the portal's own
// clock, the one client assertions are checked against: kits correct
// their clocks by it (protocol.md §4).
func (s *Server) portalDate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Date", s.now().UTC().Format(http.TimeFormat))
		next.ServeHTTP(w, r)
	})
}

func (s *Server) tokenEndpoint() string { return s.url + "/oauth/token" }

func (s *Server) serveMetadata(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                           s.url,
		"device_authorization_endpoint":                    s.url + "/oauth/device_authorization",
		"token_endpoint":                                   s.tokenEndpoint(),
		"grant_types_supported":                            []string{grantDeviceCode, grantClientCredentials},
		"token_endpoint_auth_methods_supported":            []string{"private_key_jwt"},
		"token_endpoint_auth_signing_alg_values_supported": []string{"EdDSA"},
	})
}

// readForm reads a form-encoded body of at most maxBody bytes. Repeated
// parameters are refused (RFC 6749 §3.1).
func readForm(w http.ResponseWriter, r *http.Request) (url.Values, *oauthError) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/x-www-form-urlencoded" {
		return nil, oauthErr("invalid_request", "the body must be application/x-www-form-urlencoded")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			e := oauthErr("invalid_request", "the body is larger than %d bytes", maxBody)
			e.status = http.StatusRequestEntityTooLarge
			return nil, e
		}
		return nil, oauthErr("invalid_request", "could not read the body: %v", err)
	}
	return parseForm(string(body))
}

func parseForm(body string) (url.Values, *oauthError) {
	v, err := url.ParseQuery(body)
	if err != nil {
		return nil, oauthErr("invalid_request", "the body is not a valid form: %v", err)
	}
	for k, vs := range v {
		if len(vs) > 1 {
			return nil, oauthErr("invalid_request", "parameter %q appears more than once", k)
		}
	}
	return v, nil
}

// deviceAuthResponse is RFC 8628 §3.2.
type deviceAuthResponse struct {
	DeviceCode              string `json:"device_code"`
	UserCode                string `json:"user_code"`
	VerificationURI         string `json:"verification_uri"`
	VerificationURIComplete string `json:"verification_uri_complete"`
	ExpiresIn               int    `json:"expires_in"`
	Interval                int    `json:"interval"`
}

func (s *Server) serveDeviceAuthorization(w http.ResponseWriter, r *http.Request) {
	now := s.now()
	if wait := s.deviceAuth.allow(now, clientAddr(r)); wait > 0 {
		e := oauthErr("slow_down", "too many pairing requests from this address; try again in %s", roundWait(wait))
		e.status, e.retry = http.StatusTooManyRequests, wait
		writeOAuthError(w, e)
		return
	}
	form, oe := readForm(w, r)
	if oe != nil {
		writeOAuthError(w, oe)
		return
	}
	if form.Get("client_id") != provisioning.ClientID {
		writeOAuthError(w, oauthErr("invalid_client", "client_id must be %q", provisioning.ClientID))
		return
	}
	pub, err := provisioning.DecodePublicKey(form.Get("device_public_key"))
	if err != nil {
		writeOAuthError(w, oauthErr("invalid_request", "%v", err))
		return
	}
	label := form.Get("device_label")
	if err := checkLabel(label); err != nil {
		writeOAuthError(w, oauthErr("invalid_request", "device_label: %v", err))
		return
	}
	deviceCode := randomToken(32) // 43 characters
	var userCode string
	for attempt := 0; ; attempt++ {
		code, err := provisioning.NewUserCode()
		if err != nil {
			writeOAuthError(w, &oauthError{Code: "server_error", Description: "could not make a code", status: 500})
			return
		}
		res, err := s.db.Exec(`INSERT INTO pairings (user_code, dc_hash, public_key, label, created, expires, interval, state, addr)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(user_code) DO NOTHING`,
			code, hashSecret(deviceCode), []byte(pub), label, now.Unix(), now.Add(pairingLifetime).Unix(),
			int(pollInterval/time.Second), pairPending, clientAddr(r))
		if err != nil {
			s.logStoreError("store pairing", err)
			writeOAuthError(w, serverError("store the pairing", err))
			return
		}
		if n, _ := res.RowsAffected(); n == 1 {
			userCode = code
			break
		}
		if attempt == 5 {
			writeOAuthError(w, &oauthError{Code: "server_error", Description: "could not find a free code", status: 500})
			return
		}
	}
	s.log.Info("pairing started", "user_code", provisioning.FormatUserCode(userCode), "label", label, "addr", clientAddr(r))
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, deviceAuthResponse{
		DeviceCode:              deviceCode,
		UserCode:                provisioning.FormatUserCode(userCode),
		VerificationURI:         s.url + "/admin/pair",
		VerificationURIComplete: s.url + "/admin/pair?code=" + userCode,
		ExpiresIn:               int(pairingLifetime / time.Second),
		Interval:                int(pollInterval / time.Second),
	})
}

func checkLabel(label string) error {
	if !utf8.ValidString(label) {
		return errors.New("not valid UTF-8")
	}
	if n := utf8.RuneCountInString(label); n > maxLabelRunes {
		return fmt.Errorf("%d characters, at most %d allowed", n, maxLabelRunes)
	}
	return textfield.Check(label, maxLabelRunes) // the admin sees it when pairing
}

// tokenRequest is a parsed, syntactically valid token request.
type tokenRequest struct {
	grantType  string
	deviceCode string // device_code grant only
	assertion  string
}

// parseTokenRequest checks a token request's form: everything that can be
// judged without the database.
func parseTokenRequest(form url.Values) (tokenRequest, *oauthError) {
	req := tokenRequest{grantType: form.Get("grant_type"), assertion: form.Get("client_assertion")}
	switch req.grantType {
	case "":
		return req, oauthErr("invalid_request", "grant_type is missing")
	case grantDeviceCode:
		req.deviceCode = form.Get("device_code")
		if req.deviceCode == "" {
			return req, oauthErr("invalid_request", "device_code is missing")
		}
	case grantClientCredentials:
	default:
		return req, oauthErr("unsupported_grant_type", "grant_type %q is not supported", req.grantType)
	}
	if id := form.Get("client_id"); id != "" && id != provisioning.ClientID {
		return req, oauthErr("invalid_client", "client_id must be %q", provisioning.ClientID)
	}
	if form.Get("client_assertion_type") != provisioning.AssertionType || req.assertion == "" {
		return req, oauthErr("invalid_client", "the request must authenticate with a %s client assertion", provisioning.AssertionType)
	}
	return req, nil
}

// tokenResponse is the success answer of the token endpoint.
type tokenResponse struct {
	AccessToken string     `json:"access_token"`
	TokenType   string     `json:"token_type"`
	ExpiresIn   int        `json:"expires_in"`
	Room        roomConfig `json:"room"`
}

func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	form, oe := readForm(w, r)
	if oe != nil {
		writeOAuthError(w, oe)
		return
	}
	req, oe := parseTokenRequest(form)
	if oe != nil {
		writeOAuthError(w, oe)
		return
	}
	var resp tokenResponse
	if req.grantType == grantDeviceCode {
		resp, oe = s.deviceCodeGrant(req)
	} else {
		resp, oe = s.clientCredentialsGrant(req)
	}
	if oe != nil {
		if oe.status >= 500 {
			s.logStoreError("token endpoint", errors.Join(errors.New(oe.Description), oe.cause))
		}
		writeOAuthError(w, oe)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, resp)
}

// serverError is the answer to a database error while doing what. A full
// disk is temporary (503 with Retry-After, so a kit tries again later).
func serverError(what string, err error) *oauthError {
	if isDiskFull(err) {
		return &oauthError{Code: "temporarily_unavailable", Description: msgCannotStore,
			status: http.StatusServiceUnavailable, retry: storeRetry, cause: err}
	}
	if isStoreDown(err) {
		return &oauthError{Code: "temporarily_unavailable", Description: msgStoreDown,
			status: http.StatusServiceUnavailable, retry: storeDownRetry, cause: err}
	}
	return &oauthError{Code: "server_error", Description: "could not " + what + " because of an internal error",
		status: http.StatusInternalServerError, cause: err}
}

// verifyClient checks the assertion against pub and burns its jti.
func (s *Server) verifyClient(assertion string, pub ed25519.PublicKey) *oauthError {
	claims, err := provisioning.VerifyAssertion(assertion, pub, s.tokenEndpoint(), s.now())
	if err != nil {
		return oauthErr("invalid_client", "%v", err)
	}
	res, err := s.db.Exec("INSERT INTO jtis (jti, expires) VALUES (?, ?) ON CONFLICT(jti) DO NOTHING", claims.Jti, claims.Exp)
	if err != nil {
		return serverError("record assertion", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return oauthErr("invalid_client", "this client assertion was already used (jti replayed)")
	}
	return nil
}

func (s *Server) deviceCodeGrant(req tokenRequest) (tokenResponse, *oauthError) {
	dc := hashSecret(req.deviceCode)
	var userCode, state, roomID string
	var pub []byte
	var expires, interval, lastPoll int64
	err := s.db.QueryRow(`SELECT user_code, public_key, expires, interval, last_poll, state, room_id
		FROM pairings WHERE dc_hash = ?`, dc).Scan(&userCode, &pub, &expires, &interval, &lastPoll, &state, &roomID)
	if errors.Is(err, sql.ErrNoRows) {
		return tokenResponse{}, oauthErr("invalid_grant", "unknown device_code; ask for a fresh code")
	}
	if err != nil {
		return tokenResponse{}, serverError("look up device code", err)
	}
	// Authenticate before saying anything about the code's state.
	if oe := s.verifyClient(req.assertion, pub); oe != nil {
		return tokenResponse{}, oe
	}
	now := s.now()
	switch {
	case state == pairUsed:
		return tokenResponse{}, oauthErr("invalid_grant", "this device_code was already used; ask for a fresh code")
	case state == pairDenied:
		return tokenResponse{}, oauthErr("access_denied", "an administrator denied this pairing code")
	case state == pairPending && now.Unix() >= expires:
		return tokenResponse{}, oauthErr("expired_token", "the pairing code expired; ask for a fresh code")
	case state == pairPending:
		nowMs := now.UnixMilli()
		if lastPoll > 0 && nowMs-lastPoll < interval*1000 {
			// RFC 8628 §3.5: the interval grows by 5 s for good.
			interval += int64(slowDownStep / time.Second)
			if _, err := s.db.Exec("UPDATE pairings SET last_poll = ?, interval = ? WHERE dc_hash = ?", nowMs, interval, dc); err != nil {
				return tokenResponse{}, serverError("record poll", err)
			}
			return tokenResponse{}, oauthErr("slow_down", "polled faster than every %d seconds", interval-int64(slowDownStep/time.Second))
		}
		if _, err := s.db.Exec("UPDATE pairings SET last_poll = ? WHERE dc_hash = ?", nowMs, dc); err != nil {
			return tokenResponse{}, serverError("record poll", err)
		}
		return tokenResponse{}, oauthErr("authorization_pending", "waiting for an administrator to enter the code")
	}
	// Approved: hand out the first access token exactly once.
	res, err := s.db.Exec("UPDATE pairings SET state = ? WHERE dc_hash = ? AND state = ?", pairUsed, dc, pairApproved)
	if err != nil {
		return tokenResponse{}, serverError("collect pairing", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return tokenResponse{}, oauthErr("invalid_grant", "this device_code was already used; ask for a fresh code")
	}
	return s.grantRoom(roomID)
}

func (s *Server) grantRoom(roomID string) (tokenResponse, *oauthError) {
	cfg, err := s.roomConfigFor(roomID)
	if errors.Is(err, errNotFound) {
		return tokenResponse{}, oauthErr("invalid_grant", "the room was unpaired; ask for a fresh code")
	}
	if err != nil {
		return tokenResponse{}, serverError("load room", err)
	}
	tok, err := s.issueAccessToken(roomID)
	if err != nil {
		return tokenResponse{}, serverError("issue token", err)
	}
	return tokenResponse{AccessToken: tok, TokenType: "Bearer", ExpiresIn: int(accessTokenTTL / time.Second), Room: cfg}, nil
}

func (s *Server) clientCredentialsGrant(req tokenRequest) (tokenResponse, *oauthError) {
	claims, err := provisioning.ParseAssertion(req.assertion)
	if err != nil {
		return tokenResponse{}, oauthErr("invalid_client", "%v", err)
	}
	var roomID string
	var pub []byte
	err = s.db.QueryRow("SELECT id, public_key FROM rooms WHERE device_id = ?", claims.Sub).Scan(&roomID, &pub)
	if errors.Is(err, sql.ErrNoRows) {
		// The one answer that makes a kit forget its room: exactly this
		// description (protocol.md §4). Every other invalid_client is a
		// refused assertion, which a kit retries.
		return tokenResponse{}, oauthErr("invalid_client", "%s", provisioning.NotPairedDescription)
	}
	if err != nil {
		return tokenResponse{}, serverError("look up device", err)
	}
	if oe := s.verifyClient(req.assertion, pub); oe != nil {
		return tokenResponse{}, oe
	}
	return s.grantRoom(roomID)
}
