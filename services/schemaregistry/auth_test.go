package schemaregistry

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestBasicAuthIsRequired(t *testing.T) {
	reg, err := Open("")
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	srv := httptest.NewServer(RequireBasicAuth(reg.Handler(), "bank", "s3cret"))
	defer srv.Close()
	for _, c := range []struct {
		name       string
		user, pass string
		auth       bool
		want       int
	}{
		{"no credentials", "", "", false, http.StatusUnauthorized},
		{"a wrong password", "bank", "s3cre", true, http.StatusUnauthorized},
		{"a wrong user", "bonk", "s3cret", true, http.StatusUnauthorized},
		{"the credentials", "bank", "s3cret", true, http.StatusOK},
	} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/subjects", nil)
		if c.auth {
			req.SetBasicAuth(c.user, c.pass)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != c.want {
			t.Errorf("%s: %d, want %d", c.name, res.StatusCode, c.want)
		}
		if c.want == http.StatusUnauthorized && res.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: no WWW-Authenticate", c.name)
		}
	}
}
