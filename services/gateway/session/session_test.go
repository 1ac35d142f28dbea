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
	later, _ := New(k.key, time.Hour)
	later.now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	forged := strings.Replace(s, s[:4], "Ym9i", 1) // another name, same signature
	tests := []struct {
		name    string
		keeper  *Keeper
		session string
		user    string
	}{
		{"valid", k, s, "ann.o'hara"},
		{"signed with another key", other, s, ""},
		{"expired", later, s, ""},
		{"name changed", k, forged, ""},
		{"empty", k, "", ""},
		{"garbage", k, "a.b.c.d", ""},
		{"no expiry", k, "YW5u." + k.sign("YW5u"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			user, err := tt.keeper.Check(tt.session)
			if user != tt.user || (tt.user == "") != (err != nil) {
				t.Errorf("Check = %q, %v; want %q", user, err, tt.user)
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
