// Package session issues and checks the gateway's login sessions: a
// username, the time it was issued and an expiry, signed with HMAC-SHA256,
// so any gateway sharing the key can check them without a store. Sessions
// end early when their user logs out or changes the password: Revocations
// holds, per user, the time before which every session has ended.
package session

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ErrInvalid is returned for a session that is malformed, forged or
// expired.
var ErrInvalid = errors.New("invalid or expired session: log in again")

// Keeper issues and checks sessions.
type Keeper struct {
	key []byte
	ttl time.Duration
	now func() time.Time
}

// New returns a keeper signing with key (at least 16 bytes) for sessions
// valid for ttl.
func New(key []byte, ttl time.Duration) (*Keeper, error) {
	if len(key) < 16 {
		return nil, fmt.Errorf("session key: %d bytes, want at least 16", len(key))
	}
	return &Keeper{key: key, ttl: ttl, now: time.Now}, nil
}

// Subject is whom a session is for: a user, or an employee.
type Subject struct {
	Username string // "" for an employee
	Employee bool
	// IssuedAt is when the session was issued, in Unix milliseconds; a
	// revocation at or after it ends the session.
	IssuedAt int64
	// Expires is when the session ends by itself.
	Expires time.Time
}

// Issue returns a session for a user.
func (k *Keeper) Issue(username string) string { return k.issue("u", username, k.now().UnixMilli()) }

// IssueAfter returns a session for a user issued after the revocation at
// revokedAt (Unix ms), which it outlives: the session a password change
// answers, issued in the same millisecond as the revocation it makes.
func (k *Keeper) IssueAfter(username string, revokedAt int64) string {
	return k.issue("u", username, max(k.now().UnixMilli(), revokedAt+1))
}

// IssueEmployee returns an employee's session.
func (k *Keeper) IssueEmployee() string { return k.issue("e", "", k.now().UnixMilli()) }

func (k *Keeper) issue(role, name string, issuedAt int64) string {
	payload := role + "." + base64.RawURLEncoding.EncodeToString([]byte(name)) + "." +
		strconv.FormatInt(k.now().Add(k.ttl).Unix(), 10) + "." + strconv.FormatInt(issuedAt, 10)
	return payload + "." + k.sign(payload)
}

// Check returns the subject of a valid session.
func (k *Keeper) Check(session string) (Subject, error) {
	i := strings.LastIndexByte(session, '.')
	if i < 0 {
		return Subject{}, ErrInvalid
	}
	payload, sig := session[:i], session[i+1:]
	if !hmac.Equal([]byte(sig), []byte(k.sign(payload))) {
		return Subject{}, ErrInvalid
	}
	parts := strings.Split(payload, ".")
	if len(parts) != 4 || parts[0] != "u" && parts[0] != "e" {
		return Subject{}, ErrInvalid
	}
	exp, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil || k.now().Unix() >= exp {
		return Subject{}, ErrInvalid
	}
	iat, err := strconv.ParseInt(parts[3], 10, 64)
	if err != nil {
		return Subject{}, ErrInvalid
	}
	name, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return Subject{}, ErrInvalid
	}
	return Subject{Username: string(name), Employee: parts[0] == "e", IssuedAt: iat, Expires: time.Unix(exp, 0)}, nil
}

func (k *Keeper) sign(payload string) string {
	m := hmac.New(sha256.New, k.key)
	m.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Key returns the signing key: the hex-encoded secret when one is given,
// else the one kept in file (created with a random key on first use), else
// (no file either) a random key that lives as long as the process.
func Key(secret, file string) (key []byte, ephemeral bool, err error) {
	if secret != "" {
		if key, err = hex.DecodeString(secret); err != nil {
			return nil, false, fmt.Errorf("session secret: want hex: %w", err)
		}
		return key, false, nil
	}
	if file == "" {
		key = make([]byte, 32)
		rand.Read(key)
		return key, true, nil
	}
	if b, err := os.ReadFile(file); err == nil {
		key, err = hex.DecodeString(strings.TrimSpace(string(b)))
		if err != nil {
			return nil, false, fmt.Errorf("session key in %s: %w", file, err)
		}
		return key, false, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, false, fmt.Errorf("session key: %w", err)
	}
	key = make([]byte, 32)
	rand.Read(key)
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return nil, false, fmt.Errorf("session key: %w", err)
	}
	if err := os.WriteFile(file, []byte(hex.EncodeToString(key)+"\n"), 0o600); err != nil {
		return nil, false, fmt.Errorf("session key: %w", err)
	}
	return key, false, nil
}
