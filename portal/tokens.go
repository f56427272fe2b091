package portal

import (
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// randomToken returns n random bytes as unpadded base64url.
func randomToken(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand panics instead)
	return base64.RawURLEncoding.EncodeToString(b)
}

// hashSecret is how every bearer secret is stored: a SHA-256 digest. The
// secrets are 256-bit random values, so no salt or slow hash is needed.
func hashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// apiTokenPrefix makes admin tokens recognisable in a leaked-secret scan.
const apiTokenPrefix = "rka_"

// Admin API token lifetimes. A token that never expires outlives the
// script and the person it was made for; 90 days is long enough that a
// quarterly job does not break, short enough that a leaked one dies.
const (
	DefaultTokenLifetime = 90 * 24 * time.Hour
	MaxTokenLifetime     = 2 * 365 * 24 * time.Hour
)

// TokenOptions says how CreateAPITokenWith makes a token.
type TokenOptions struct {
	// Lifetime is how long the token works: 0 means DefaultTokenLifetime.
	Lifetime time.Duration
	// Role is what the token may do: "" means RoleAdmin.
	Role Role
	// Group limits the token to the rooms of one group; "" means the
	// whole account.
	Group string
	// Actor, if not "", records the token's creation in the audit log
	// as done by Actor (the command line says "command line").
	Actor string
}

// CreateAPIToken makes an admin API token called name, valid for
// DefaultTokenLifetime, and returns it; only its hash is kept, so this is
// the one time it can be shown.
func (s *Server) CreateAPIToken(name string) (string, error) {
	tok, _, err := s.CreateAPITokenWith(name, TokenOptions{})
	return tok, err
}

// CreateAPITokenWith is CreateAPIToken with options; it also returns when
// the token expires.
func (s *Server) CreateAPITokenWith(name string, opt TokenOptions) (string, time.Time, error) {
	name = strings.TrimSpace(name)
	if name == "" || len([]rune(name)) > maxRoomFieldRunes {
		return "", time.Time{}, fmt.Errorf("a token needs a name of 1 to %d characters", maxRoomFieldRunes)
	}
	life := opt.Lifetime
	if life == 0 {
		life = DefaultTokenLifetime
	}
	if life < time.Minute || life > MaxTokenLifetime {
		return "", time.Time{}, fmt.Errorf("a token's lifetime must be between 1 minute and %d days, not %v", MaxTokenLifetime/(24*time.Hour), life)
	}
	role := opt.Role
	if role == "" {
		role = RoleAdmin
	}
	if role.rank() == 0 {
		return "", time.Time{}, fmt.Errorf("%q is not a role: use viewer, admin or owner", role)
	}
	groups, err := parseGroups(opt.Group)
	if err != nil {
		return "", time.Time{}, err
	}
	if len(groups) > 1 {
		return "", time.Time{}, fmt.Errorf("a token is limited to one group, not %d", len(groups))
	}
	if role == RoleOwner && len(groups) > 0 {
		return "", time.Time{}, errors.New("an owner token manages the whole account: leave out the group, or choose the admin or viewer role")
	}
	now := s.now()
	expires := now.Add(life).Truncate(time.Second)
	tok := apiTokenPrefix + randomToken(32)
	if _, err := s.db.Exec("INSERT INTO api_tokens (name, hash, created, expires, role, groups) VALUES (?, ?, ?, ?, ?, ?)",
		name, hashSecret(tok), now.Unix(), expires.Unix(), string(role), storedGroups(groups)); err != nil {
		return "", time.Time{}, fmt.Errorf("store API token: %w", err)
	}
	if opt.Actor != "" {
		s.audit(opt.Actor, "create token", tokenNote(name, role, groups, expires), "")
	}
	return tok, expires, nil
}

// tokenNote describes a new token for the audit log.
func tokenNote(name string, role Role, groups []string, expires time.Time) string {
	scope := "the whole account"
	if len(groups) > 0 {
		scope = "the group " + strconv.Quote(groups[0])
	}
	return fmt.Sprintf("%q, %s of %s, expires %s", name, role, scope, expires.UTC().Format(time.DateOnly))
}

type apiToken struct {
	ID      int64
	Name    string
	Created time.Time
	Expires time.Time // zero: made before tokens expired; it never does
	Expired bool      // at the time it was read
	Role    Role
	Groups  []string // empty: the whole account
}

// principal is who the token acts as.
func (t apiToken) principal() principal {
	return principal{actor: "token " + strconv.Quote(t.Name), role: t.Role, groups: t.Groups}
}

func (s *Server) scanAPIToken(sc interface{ Scan(...any) error }) (apiToken, error) {
	var t apiToken
	var created, expires int64
	var role, groups string
	if err := sc.Scan(&t.ID, &t.Name, &created, &expires, &role, &groups); err != nil {
		return t, err
	}
	t.Role, t.Groups = Role(role), loadGroups(groups)
	t.Created = time.Unix(created, 0)
	if expires != 0 {
		t.Expires = time.Unix(expires, 0)
		t.Expired = !s.now().Before(t.Expires)
	}
	return t, nil
}

func (s *Server) listAPITokens() ([]apiToken, error) {
	rows, err := s.db.Query("SELECT id, name, created, expires, role, groups FROM api_tokens ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("list API tokens: %w", err)
	}
	defer rows.Close()
	var out []apiToken
	for rows.Next() {
		t, err := s.scanAPIToken(rows)
		if err != nil {
			return nil, fmt.Errorf("list API tokens: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// revokeAPIToken deletes a token and returns its name.
func (s *Server) revokeAPIToken(id int64) (string, error) {
	var name string
	err := s.db.QueryRow("DELETE FROM api_tokens WHERE id = ? RETURNING name", id).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return "", errNotFound
	}
	if err != nil {
		return "", fmt.Errorf("revoke API token: %w", err)
	}
	return name, nil
}

// apiTokenByBearer finds the admin API token presented as a bearer
// secret. An expired one is returned with Expired set: the caller says so,
// which helps whoever runs the script more than "unknown token".
func (s *Server) apiTokenByBearer(secret string) (apiToken, error) {
	t, err := s.scanAPIToken(s.db.QueryRow("SELECT id, name, created, expires, role, groups FROM api_tokens WHERE hash = ?", hashSecret(secret)))
	if errors.Is(err, sql.ErrNoRows) {
		return t, errNotFound
	}
	if err != nil {
		return t, fmt.Errorf("look up API token: %w", err)
	}
	return t, nil
}

var errNotFound = errors.New("not found")

// issueAccessToken stores a fresh access token for a room.
func (s *Server) issueAccessToken(roomID string) (string, error) {
	tok := randomToken(32)
	exp := s.now().Add(accessTokenTTL)
	if _, err := s.db.Exec("INSERT INTO access_tokens (hash, room_id, expires) VALUES (?, ?, ?)",
		hashSecret(tok), roomID, exp.Unix()); err != nil {
		return "", fmt.Errorf("store access token: %w", err)
	}
	return tok, nil
}

// tokenCache keeps validated access tokens (by hash) in memory so that a
// heartbeat does not touch SQLite. Revocation must go through forgetRoom.
type tokenCache struct {
	mu sync.RWMutex
	m  map[[sha256.Size]byte]cachedToken
	// gen counts revocations, so a lookup that raced with one does not
	// put a revoked token back into the cache.
	gen uint64
}

type cachedToken struct {
	roomID  string
	expires time.Time
}

func newTokenCache() *tokenCache {
	return &tokenCache{m: make(map[[sha256.Size]byte]cachedToken)}
}

func (c *tokenCache) get(h [sha256.Size]byte) (cachedToken, bool) {
	c.mu.RLock()
	t, ok := c.m[h]
	c.mu.RUnlock()
	return t, ok
}

func (c *tokenCache) generation() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.gen
}

// put caches t unless a revocation happened since generation() returned gen.
func (c *tokenCache) put(h [sha256.Size]byte, t cachedToken, gen uint64) {
	c.mu.Lock()
	if c.gen == gen {
		c.m[h] = t
	}
	c.mu.Unlock()
}

func (c *tokenCache) forgetRoom(roomID string) {
	c.mu.Lock()
	c.gen++
	for h, t := range c.m {
		if t.roomID == roomID {
			delete(c.m, h)
		}
	}
	c.mu.Unlock()
}

func (c *tokenCache) sweep(now time.Time) {
	c.mu.Lock()
	for h, t := range c.m {
		if !now.Before(t.expires) {
			delete(c.m, h)
		}
	}
	c.mu.Unlock()
}

// roomForAccessToken answers which room a bearer access token belongs to,
// or errNotFound if it is unknown, expired or revoked.
func (s *Server) roomForAccessToken(secret string) (string, error) {
	h := sha256.Sum256([]byte(secret))
	now := s.now()
	if s.shared() {
		// Replicas share no cache: a token revoked through another
		// replica must be refused here at once (docs/replicas.md).
		var exp int64
		var roomID string
		err := s.db.QueryRow("SELECT room_id, expires FROM access_tokens WHERE hash = ?", h[:]).Scan(&roomID, &exp)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && !now.Before(time.Unix(exp, 0))) {
			return "", errNotFound
		}
		if err != nil {
			return "", fmt.Errorf("look up access token: %w", err)
		}
		return roomID, nil
	}
	if t, ok := s.tokens.get(h); ok {
		if now.Before(t.expires) {
			return t.roomID, nil
		}
		return "", errNotFound
	}
	gen := s.tokens.generation()
	var roomID string
	var exp int64
	err := s.db.QueryRow("SELECT room_id, expires FROM access_tokens WHERE hash = ?", h[:]).Scan(&roomID, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return "", errNotFound
	}
	if err != nil {
		return "", fmt.Errorf("look up access token: %w", err)
	}
	t := cachedToken{roomID: roomID, expires: time.Unix(exp, 0)}
	if !now.Before(t.expires) {
		return "", errNotFound
	}
	s.tokens.put(h, t, gen)
	return roomID, nil
}

// bearer extracts the token from "Authorization: Bearer <token>".
func bearer(authz string) (string, bool) {
	const p = "bearer "
	if len(authz) <= len(p) || !strings.EqualFold(authz[:len(p)], p) {
		return "", false
	}
	return strings.TrimSpace(authz[len(p):]), true
}
