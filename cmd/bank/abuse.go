package main

import "github.com/openbank/bank/services/gateway"

// abuseFlags are the gateway's limits on what one client or operation may
// make it do, beyond the request limits in gatewayFlags.
type abuseFlags struct {
	introspection *bool
	maxAliases    *int
	maxResponse   *int
}

// abuseFlags adds them; introspection is its flag's default.
func (f *flags) abuseFlags(introspection bool) abuseFlags {
	return abuseFlags{
		introspection: f.boolDefault("introspection", "INTROSPECTION", introspection, "serve the schema to clients (__schema, __type), which GraphiQL needs for completion and docs"),
		maxAliases:    f.int("max-aliases", "MAX_ALIASES", 30, "aliased fields an operation may use, counted through fragments"),
		maxResponse:   f.int("max-response-bytes", "MAX_RESPONSE_BYTES", 2<<20, "largest answer to one operation or subscription event; a larger one is the error RESPONSE_TOO_LARGE"),
	}
}

// apply puts the flags into a gateway's configuration.
func (af abuseFlags) apply(cfg *gateway.Config) {
	cfg.Introspection = *af.introspection
	cfg.MaxAliases = *af.maxAliases
	cfg.MaxResponseBytes = *af.maxResponse
}
