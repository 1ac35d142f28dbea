package schemaregistry

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
)

// RequireBasicAuth serves h only to requests with HTTP basic auth as user
// and password; others get 401 with the error body Confluent's registry
// answers. An empty user leaves h open.
func RequireBasicAuth(h http.Handler, user, password string) http.Handler {
	if user == "" {
		return h
	}
	// Compared as hashes, in constant time: neither the length nor a
	// common prefix of the password shows in the time taken.
	wantUser, wantPass := sha256.Sum256([]byte(user)), sha256.Sum256([]byte(password))
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		u, p, ok := req.BasicAuth()
		gotUser, gotPass := sha256.Sum256([]byte(u)), sha256.Sum256([]byte(p))
		if !ok || subtle.ConstantTimeCompare(gotUser[:], wantUser[:])&subtle.ConstantTimeCompare(gotPass[:], wantPass[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="schema registry", charset="UTF-8"`)
			writeError(w, http.StatusUnauthorized, 401, "Unauthorized")
			return
		}
		h.ServeHTTP(w, req)
	})
}
