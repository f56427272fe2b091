package portal

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"unicode"

	"golang.org/x/crypto/argon2"
)

// argon2id parameters: OWASP's recommended minimum (19 MiB, 2 passes, 1
// lane). Stored with each hash, so they can be raised later.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

// checkPassword enforces the account password rule: at least 8
// characters, mixing letters and digits.
func checkPassword(pw string) error {
	var letter, digit bool
	for _, r := range pw {
		letter = letter || unicode.IsLetter(r)
		digit = digit || unicode.IsDigit(r)
	}
	if len([]rune(pw)) < 8 || !letter || !digit {
		return errors.New("a password needs at least 8 characters, with both letters and digits")
	}
	if len(pw) > 1024 {
		return errors.New("a password can have at most 1024 bytes")
	}
	return nil
}

// hashPassword returns a PHC-style argon2id string with a fresh salt.
func hashPassword(pw string) string {
	salt := make([]byte, argonSaltLen)
	rand.Read(salt)
	key := argon2.IDKey([]byte(pw), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, argonMemory, argonTime, argonThreads, enc.EncodeToString(salt), enc.EncodeToString(key))
}

// verifyPassword compares pw with a hashPassword string in constant time.
func verifyPassword(encoded, pw string) bool {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var version int
	var m uint32
	var t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || t == 0 || p == 0 || m > 1<<20 {
		return false
	}
	enc := base64.RawStdEncoding
	salt, err1 := enc.DecodeString(parts[4])
	want, err2 := enc.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// dummyHash is verified against when an email is unknown, so a failed
// login takes as long whether or not the account exists.
var dummyHash = sync.OnceValue(func() string { return hashPassword("not-a-real-password-0") })

// generatePassword makes a random password that meets checkPassword.
func generatePassword() string {
	const letters = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"
	const digits = "23456789"
	const all = letters + digits
	for {
		var b strings.Builder
		for range 16 {
			n, _ := rand.Int(rand.Reader, big.NewInt(int64(len(all))))
			b.WriteByte(all[n.Int64()])
		}
		if pw := b.String(); checkPassword(pw) == nil {
			return pw
		}
	}
}

// CreateAdmin adds an administrator who signs in to the admin center,
// an owner of the account (docs/team.md): whoever runs it has the
// portal's machine.
func (s *Server) CreateAdmin(email, password string) error {
	return s.createAdmin("command line", email, password)
}

func (s *Server) createAdmin(actor, email, password string) error {
	email = strings.TrimSpace(email)
	if !strings.Contains(email, "@") || len(email) > 254 || strings.ContainsAny(email, " \t\r\n") {
		return fmt.Errorf("%q is not an email address", email)
	}
	if err := checkPassword(password); err != nil {
		return err
	}
	_, err := s.db.Exec("INSERT INTO admins (email, pw_hash, created) VALUES (?, ?, ?)", email, hashPassword(password), s.now().Unix())
	if err != nil {
		if isUniqueViolation(err) {
			return fmt.Errorf("an administrator %s already exists", email)
		}
		return fmt.Errorf("create admin %s: %w", email, err)
	}
	s.audit(actor, "create admin", email+" as owner", "")
	return nil
}

// BootstrapAdminEmail is the administrator BootstrapAdmin creates.
const BootstrapAdminEmail = "admin@roomkit.local"

// BootstrapAdmin creates BootstrapAdminEmail with a random password if
// there is no administrator yet, and returns the password. If there are
// administrators already it does nothing and returns "".
func (s *Server) BootstrapAdmin() (password string, err error) {
	var n int
	if err := s.db.QueryRow("SELECT COUNT(*) FROM admins").Scan(&n); err != nil {
		return "", fmt.Errorf("count admins: %w", err)
	}
	if n > 0 {
		return "", nil
	}
	pw := generatePassword()
	if err := s.createAdmin("portal", BootstrapAdminEmail, pw); err != nil {
		return "", err
	}
	return pw, nil
}
