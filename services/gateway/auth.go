package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/openbank/bank/graph"
	"github.com/openbank/bank/services/gateway/session"
)

// authenticate puts the user of a valid "Authorization: Bearer <session>"
// into the request's context; an invalid or expired one is refused.
func (g *Gateway) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		if h == "" {
			next.ServeHTTP(w, r)
			return
		}
		ctx, _, err := checkBearer(r.Context(), g.cfg.Sessions, g.revocations, h)
		if err != nil {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintf(w, `{"errors":[{"message":%q}]}`+"\n", err.Error())
			return
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// checkBearer returns ctx for the user or employee of an Authorization
// header's session, unless it is invalid, expired or revoked.
func checkBearer(ctx context.Context, k *session.Keeper, revoked *session.Revocations, h string) (context.Context, session.Subject, error) {
	scheme, s, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ctx, session.Subject{}, errors.New("authorization: want 'Bearer <session>'")
	}
	who, err := k.Check(strings.TrimSpace(s))
	switch {
	case err != nil:
		return ctx, who, err
	case revoked != nil && revoked.Revoked(who):
		return ctx, who, session.ErrInvalid
	case who.Employee:
		return graph.WithEmployee(ctx), who, nil
	}
	return graph.WithUser(ctx, who.Username), who, nil
}

// websocketInit reads a session from the connection_init payload, as
// {"Authorization": "Bearer <session>"} (or nested in "headers", as
// GraphiQL sends its headers). A bad one closes the connection with 4401,
// on which graphql-ws clients stop retrying; so does the session's
// revocation or expiry later.
func websocketInit(k *session.Keeper, revoked *session.Revocations, live *liveSessions) wsInitFunc {
	return func(ctx context.Context, p map[string]any) (context.Context, error) {
		h := authorization(p)
		if h == "" {
			return ctx, nil
		}
		authed, who, err := checkBearer(ctx, k, revoked, h)
		if err != nil {
			return ctx, &wsCloseError{Code: closeUnauthorized, Reason: "unauthorized", Err: err}
		}
		if holder := holderOf(ctx); holder != nil && live != nil {
			live.add(holder, who)
		}
		return authed, nil
	}
}

func authorization(p map[string]any) string {
	for k, v := range p {
		if s, ok := v.(string); ok && strings.EqualFold(k, "Authorization") {
			return s
		}
	}
	if h, ok := p["headers"].(map[string]any); ok {
		return authorization(h)
	}
	return ""
}
