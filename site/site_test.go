package site

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestProfilesOnlyWhenAskedFor(t *testing.T) {
	for _, tc := range []struct {
		profiles bool
		want     int
	}{{false, http.StatusNotFound}, {true, http.StatusOK}} {
		srv := httptest.NewServer((&Site{Profiles: tc.profiles}).Handler())
		res, err := http.Get(srv.URL + "/debug/pprof/goroutine?debug=1")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		srv.Close()
		if res.StatusCode != tc.want {
			t.Errorf("profiles %v: /debug/pprof/goroutine answered %s, want %d", tc.profiles, res.Status, tc.want)
		}
	}
}

// A gateway's public address serves no metrics, status or profiles: they
// are on the admin address only.
func TestOperationsOnlyOnTheAdminAddress(t *testing.T) {
	nosniff := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Content-Type-Options", "nosniff")
			h.ServeHTTP(w, r)
		})
	}
	s := &Site{API: http.NotFoundHandler(), Profiles: true, Headers: nosniff,
		Status: func(w http.ResponseWriter, _ *http.Request) {
			WriteJSON(w, http.StatusOK, map[string]string{"brokers": "x"})
		}}
	public, admin := httptest.NewServer(s.Public()), httptest.NewServer(s.Admin())
	defer public.Close()
	defer admin.Close()
	status := func(srv *httptest.Server, path string) *http.Response {
		res, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	for _, path := range []string{"/metrics", "/status", "/debug/pprof/", "/debug/pprof/goroutine?debug=1"} {
		if res := status(public, path); res.StatusCode != http.StatusNotFound {
			t.Errorf("public %s: %s, want 404", path, res.Status)
		}
		if res := status(admin, path); res.StatusCode != http.StatusOK {
			t.Errorf("admin %s: %s, want 200", path, res.Status)
		}
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		res := status(public, path)
		if res.StatusCode != http.StatusOK || res.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("public %s: %s %v", path, res.Status, res.Header)
		}
	}
}
