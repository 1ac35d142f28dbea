package main

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
		srv := httptest.NewServer((&site{profiles: tc.profiles}).handler())
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
