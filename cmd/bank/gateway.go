package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"sync/atomic"

	"github.com/openbank/bank/services/gateway"
	"github.com/openbank/bank/services/gateway/session"
	"github.com/openbank/bank/site"
	"github.com/openbank/bank/topology"
	"github.com/openbank/bank/topology/kafka"
)

type gatewayFlags struct {
	employee   *string
	timeout    *time.Duration
	secret     *string
	keyFile    *string
	sessionTTL *time.Duration
	cors       *string
	hashCost   *int
	maxBody    *int
	maxDepth   *int
	complexity *int
	userFails  *int
	clientFail *int
	clientHdr  *string
	wsSubs     *int
	wsMsgs     *int
	signUps    *int
	deposits   *int
	openReads  *bool
	limits     limitsFlags
	abuse      abuseFlags
}

// gatewayFlags adds the gateway's flags; keyFile is where the session key
// is kept by default ("" for none), introspection whether the schema is
// served by default; limits are shared with the command handler in the
// all-in-one bank.
func (f *flags) gatewayFlags(keyFile string, introspection bool, limits limitsFlags) gatewayFlags {
	return gatewayFlags{
		abuse:      f.abuseFlags(introspection),
		limits:     limits,
		signUps:    f.int("sign-ups-per-client", "SIGN_UPS_PER_CLIENT", 10, "sign-ups (and get_account calls, which may sign up) a minute from one client address"),
		deposits:   f.int("deposits-per-client", "DEPOSITS_PER_CLIENT", 30, "cash deposits a minute from one client address"),
		openReads:  f.bool("open-reads", "OPEN_READS", "let anyone read any account's transactions and stream every transaction, as the original did (for its frontend against a demo bank; never with real money)"),
		employee:   f.string("employee-password", "EMPLOYEE_PASSWORD", "", "the employees' credential for employee_login and the employee page (bank keeps a generated one in <data-dir>/gateway/employee.password; empty in bank gateway: no employee can log in)"),
		timeout:    f.duration("request-timeout", "REQUEST_TIMEOUT", 5*time.Second, "how long the gateway waits for an answer from Kafka; a transfer without an answer in time answers PENDING"),
		secret:     f.string("session-secret", "SESSION_SECRET", "", "hex key signing login sessions; gateways sharing it accept each other's sessions (default: kept in --session-key-file)"),
		keyFile:    f.string("session-key-file", "SESSION_KEY_FILE", keyFile, "file keeping a generated session key across restarts (empty: a new key per start, logging everyone out)"),
		sessionTTL: f.duration("session-ttl", "SESSION_TTL", 24*time.Hour, "how long a login session lasts"),
		cors:       f.string("cors-origins", "CORS_ORIGINS", "", "origins allowed to call the API from a browser besides the gateway's own, comma separated; * for any"),
		hashCost:   f.int("bcrypt-cost", "BCRYPT_COST", 10, "bcrypt cost of password hashes (4 to 31; each step doubles the work)"),
		maxBody:    f.int("max-body-bytes", "MAX_BODY_BYTES", 64<<10, "largest request body or websocket message"),
		maxDepth:   f.int("max-query-depth", "MAX_QUERY_DEPTH", 15, "deepest nesting of fields in an operation, introspection included (GraphiQL's nests 14 deep)"),
		complexity: f.int("max-query-complexity", "MAX_QUERY_COMPLEXITY", 20_000, "highest cost of an operation (a field costs 1, lists their items times their fields)"),
		userFails:  f.int("login-failures-per-user", "LOGIN_FAILURES_PER_USER", 5, "wrong passwords a minute a username may get before its log-ins are refused for a while"),
		clientFail: f.int("login-failures-per-client", "LOGIN_FAILURES_PER_CLIENT", 30, "wrong passwords a minute one client address may send before its log-ins are refused for a while"),
		wsSubs:     f.int("ws-max-subscriptions", "WS_MAX_SUBSCRIPTIONS", 100, "running subscriptions one websocket connection may have"),
		wsMsgs:     f.int("ws-max-messages-per-second", "WS_MAX_MESSAGES_PER_SECOND", 100, "messages a second a websocket client may send (twice that at once); a faster one is disconnected"),
		clientHdr:  f.string("client-address-header", "CLIENT_ADDRESS_HEADER", "", "header in which a trusted reverse proxy passes the client's address (e.g. X-Real-IP or X-Forwarded-For); empty: the connection's address"),
	}
}

// config turns the flags into a gateway's configuration.
func (gf gatewayFlags) config(brokers []string, log *slog.Logger) (gateway.Config, error) {
	key, ephemeral, err := session.Key(*gf.secret, *gf.keyFile)
	if err != nil {
		return gateway.Config{}, err
	}
	if ephemeral {
		log.Warn("gateway: sessions are signed with a key of this process only: they end at restart and other gateways refuse them (set --session-secret)")
	}
	keeper, err := session.New(key, *gf.sessionTTL)
	if err != nil {
		return gateway.Config{}, err
	}
	if *gf.hashCost < 4 || *gf.hashCost > 31 {
		return gateway.Config{}, fmt.Errorf("--bcrypt-cost %d: want 4 to 31", *gf.hashCost)
	}
	if *gf.sessionTTL <= 0 || *gf.sessionTTL > topology.MaxSessionTTL {
		return gateway.Config{}, fmt.Errorf("--session-ttl %s: want at most %s (revocations are kept a day longer)", *gf.sessionTTL, topology.MaxSessionTTL)
	}
	limits, err := gf.limits.get()
	if err != nil {
		return gateway.Config{}, fmt.Errorf("limits: %w", err)
	}
	if *gf.openReads {
		log.Warn("gateway: --open-reads: anyone can read any account's transactions; for the original's frontend against a demo bank only")
	}
	cfg := gateway.Config{Brokers: brokers, Timeout: *gf.timeout, HashCost: *gf.hashCost, Sessions: keeper,
		CORSOrigins: splitList(*gf.cors), MaxBodyBytes: int64(*gf.maxBody), MaxDepth: *gf.maxDepth,
		MaxComplexity: *gf.complexity, EmployeePassword: *gf.employee, LoginFailuresPerUser: *gf.userFails,
		LoginFailuresPerClient: *gf.clientFail, ClientAddressHeader: *gf.clientHdr, MaxSubscriptions: *gf.wsSubs,
		MaxMessagesPerSecond: *gf.wsMsgs, SignUpsPerClient: *gf.signUps, DepositsPerClient: *gf.deposits,
		Limits: limits, OpenReads: *gf.openReads, Log: log}
	gf.abuse.apply(&cfg, log)
	return cfg, nil
}

func runGateway(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	f := newFlags("gateway", getenv, stderr)
	brokers, registry := f.cluster()
	gf := f.gatewayFlags("", false, f.limits())
	httpAddr := f.httpAddr()
	adminAddr := f.adminAddr()
	log, err := f.parse(args)
	if err != nil {
		return err
	}
	cfg, err := gf.config(splitList(*brokers), log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *httpAddr)
	if err != nil {
		return fmt.Errorf("serve HTTP: %w", err)
	}
	defer ln.Close()
	adminLn, err := listenAdmin(*adminAddr)
	if err != nil {
		return err
	}
	if adminLn != nil {
		defer adminLn.Close()
		log.Info("serving the admin address: /metrics, health and readiness, --pprof's profiles", "admin_addr", adminLn.Addr().String())
	}
	reg, err := kafka.RegistryClient(*registry)
	if err != nil {
		return err
	}
	gw, err := gateway.New(ctx, cfg, topology.NewCodec(reg))
	if err != nil {
		return err
	}
	defer gw.Close()
	s := &site.Site{API: gw.Handler(), Profiles: *f.profiles, Headers: gateway.SecurityHeaders,
		Checks: []site.Check{{Name: "kafka", Fn: func(context.Context) error { return gw.Ready() }}}}
	log.Info("serving /graphql, /healthz, /readyz", "addr", ln.Addr().String())
	fmt.Fprintf(stdout, "gateway: GraphQL at %sgraphql, GraphiQL at %sgraphiql; metrics at %s\n", browserURL(ln.Addr()), browserURL(ln.Addr()), adminURL(adminLn))
	return site.ServePublicAndAdmin(ctx, ln, adminLn, s, f.serverTimeouts(), log)
}

// sessionKeyFile is where the embedded bank keeps its session key.
func sessionKeyFile(dataDir string) string { return filepath.Join(dataDir, "gateway", "session.key") }

// employeePassword returns the password kept in the embedded bank's data
// dir, generated (20 random characters) on first use.
func employeePassword(dataDir string) (string, string, error) {
	file := filepath.Join(dataDir, "gateway", "employee.password")
	if b, err := os.ReadFile(file); err == nil {
		return strings.TrimSpace(string(b)), file, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", file, fmt.Errorf("employee password: %w", err)
	}
	pw := rand.Text()[:20]
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return "", file, fmt.Errorf("employee password: %w", err)
	}
	if err := os.WriteFile(file, []byte(pw+"\n"), 0o600); err != nil {
		return "", file, fmt.Errorf("employee password: %w", err)
	}
	return pw, file, nil
}

// service runs a service against Kafka (brokers) and the Schema Registry
// until ctx ends, calling ready once it serves.
type service func(ctx context.Context, brokers []string, registryURL string, log *slog.Logger, ready func()) error

// runService is a service's command: the cluster flags, the service's own
// (which own adds, returning the service), and the HTTP address for
// /metrics, /healthz and /readyz beside it.
func runService(ctx context.Context, name string, args []string, getenv func(string) string, stderr io.Writer, own func(*flags) service) error {
	f := newFlags(name, getenv, stderr)
	brokers, registry := f.cluster()
	run := own(f)
	httpAddr := f.httpAddr()
	log, err := f.parse(args)
	if err != nil {
		return err
	}
	bs := splitList(*brokers)
	return serveService(ctx, *httpAddr, *f.profiles, f.serverTimeouts(), bs, log, func(ctx context.Context, ready func()) error {
		return run(ctx, bs, *registry, log, ready)
	})
}

// serveService runs a service (run, which calls ready once it serves) with
// an HTTP server beside it for /metrics, /healthz and /readyz: ready once
// the service is and Kafka answers. It returns when the service does.
func serveService(ctx context.Context, addr string, profiles bool, timeouts site.Timeouts, brokers []string, log *slog.Logger, run func(ctx context.Context, ready func()) error) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("serve HTTP (--http-addr): %w", err)
	}
	client, err := kafka.Connect(ctx, brokers, kafka.NewConfig("openbank-health"), log)
	if err != nil {
		ln.Close()
		return err
	}
	defer client.Close()
	var ready atomic.Bool
	s := &site.Site{Profiles: profiles, Checks: []site.Check{
		{Name: "kafka", Fn: func(context.Context) error { return client.RefreshMetadata() }},
		{Name: "service", Fn: func(context.Context) error { return starting(&ready, "still starting") }},
	}}
	log.Info("serving /metrics, /healthz, /readyz", "addr", ln.Addr().String())
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- site.Serve(ctx, ln, s.Handler(), timeouts, log) }()
	err = run(ctx, func() { ready.Store(true) })
	cancel()
	if serr := <-served; err == nil {
		err = serr
	}
	return err
}
