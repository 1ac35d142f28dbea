package session

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSessions(t *testing.T) {
	k, err := New([]byte("0123456789abcdef0123456789abcdef"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := New([]byte("fedcba9876543210fedcba9876543210"), time.Hour)
	s := k.Issue("ann.o'hara")
	emp := k.IssueEmployee()
	later, _ := New(k.key, time.Hour)
	later.now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	forged := strings.Replace(s, s[:6], "u.Ym9i", 1) // another name, same signature
	promoted := "e" + s[1:]                          // a user's session made an employee's
	ann, employee := &Subject{Username: "ann.o'hara"}, &Subject{Employee: true}
	tests := []struct {
		name    string
		keeper  *Keeper
		session string
		want    *Subject // nil: refused
	}{
		{"valid", k, s, ann},
		{"employee", k, emp, employee},
		{"signed with another key", other, s, nil},
		{"expired", later, s, nil},
		{"name changed", k, forged, nil},
		{"role changed", k, promoted, nil},
		{"empty", k, "", nil},
		{"garbage", k, "a.b.c.d", nil},
		{"no expiry", k, "u.YW5u." + k.sign("u.YW5u"), nil},
		{"unknown role", k, "x.YW5u.9999999999.1." + k.sign("x.YW5u.9999999999.1"), nil},
		{"no issue time", k, "u.YW5u.9999999999." + k.sign("u.YW5u.9999999999"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.keeper.Check(tt.session)
			if tt.want == nil && err == nil || tt.want != nil && (err != nil || got.Username != tt.want.Username || got.Employee != tt.want.Employee) {
				t.Errorf("Check = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestKeyIsKeptInItsFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "gateway", "session.key")
	a, eph, err := Key("", file)
	if err != nil || eph || len(a) != 32 {
		t.Fatalf("first key: %x %v %v", a, eph, err)
	}
	b, _, err := Key("", file)
	if err != nil || string(a) != string(b) {
		t.Fatalf("second start got another key: %v", err)
	}
	if _, eph, _ := Key("", ""); !eph {
		t.Error("no secret and no file should give an ephemeral key")
	}
	if _, _, err := Key("not hex", ""); err == nil {
		t.Error("a secret that is not hex was accepted")
	}
}

func TestRevocationsEndSessionsIssuedUpToThem(t *testing.T) {
	now := time.UnixMilli(1_800_000_000_000)
	k, _ := New([]byte("0123456789abcdef0123456789abcdef"), time.Hour)
	k.now = func() time.Time { return now }
	r := NewRevocations()
	var told []string
	r.Listen(func(u string, at int64) { told = append(told, u) })
	old, _ := k.Check(k.Issue("ann"))
	bob, _ := k.Check(k.Issue("bob"))
	r.Revoke("ann", now.UnixMilli())
	fresh, _ := k.Check(k.IssueAfter("ann", now.UnixMilli())) // same millisecond, after the revocation
	emp, _ := k.Check(k.IssueEmployee())
	switch {
	case !r.Revoked(old):
		t.Error("a session issued in the revocation's millisecond survived")
	case r.Revoked(fresh):
		t.Error("the session issued after the revocation is revoked")
	case r.Revoked(bob) || r.Revoked(emp):
		t.Error("another user's or an employee's session revoked")
	}
	r.Revoke("ann", now.UnixMilli()-5) // an older revocation, read late: nothing changes
	if len(told) != 1 || r.Revoked(fresh) {
		t.Errorf("listeners told %v", told)
	}
}
