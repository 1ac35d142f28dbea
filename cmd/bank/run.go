package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/openbank/bank/services/gateway"
	"github.com/openbank/bank/topology"
	"github.com/openbank/bank/topology/kafka"
	"github.com/openbank/bank/topology/synchronizer"
)

func runEmbedded(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	f := newFlags("run", getenv, stderr)
	fl := f.backbone()
	lf := f.limits()
	cf := f.commands(lf)
	pf := f.projectorFlags()
	af := f.alertsFlags()
	rf := f.embeddedReports()
	gf := f.gatewayFlags("", true, lf) // GraphiQL for developers
	httpAddr := f.httpAddr()
	adminAddr := f.adminAddr()
	log, err := f.parse(args)
	if err != nil {
		return err
	}
	started := time.Now()
	ln, err := net.Listen("tcp", *httpAddr)
	if err != nil {
		return fmt.Errorf("serve HTTP (is another bank running? --http-addr picks another address): %w", err)
	}
	defer ln.Close()
	adminLn, err := listenAdmin(*adminAddr)
	if err != nil {
		return err
	}
	if adminLn != nil {
		defer adminLn.Close()
	}

	b, err := startBackbone(fl, log)
	if err != nil {
		return err
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		b.Close(ctx)
		log.Info("stopped")
	}()
	brokers := []string{b.broker.Addr()}
	sql, err := rf.prepare(*fl.dataDir, log)
	if err != nil {
		return err
	}
	if _, err := syncTopology(ctx, brokers, b.registryURL, time.Minute, synchronizer.Options{Log: log}); err != nil {
		return err
	}
	if *gf.keyFile == "" && *gf.secret == "" {
		*gf.keyFile = sessionKeyFile(*fl.dataDir) // sessions outlive restarts, like the data
	}
	if *gf.employee == "" {
		pw, file, err := employeePassword(*fl.dataDir)
		if err != nil {
			return err
		}
		*gf.employee = pw
		log.Info("employee password for the employee page is in " + file)
	}
	gwConfig, err := gf.config(brokers, log)
	if err != nil {
		return err
	}
	// The services run until ctx ends; the first to fail stops the bank.
	ctx, stopServices := context.WithCancelCause(ctx)
	var services sync.WaitGroup
	defer services.Wait()
	defer stopServices(nil)
	var commandsReady, projectorReady, alertsReady atomic.Bool
	for _, s := range []struct {
		name  string
		run   service
		ready *atomic.Bool
	}{
		{"command handler", cf.run, &commandsReady},
		{"projector", pf.run, &projectorReady},
		{"alerts", af.run, &alertsReady},
	} {
		services.Go(func() {
			if err := s.run(ctx, brokers, b.registryURL, log, func() { s.ready.Store(true) }); err != nil {
				stopServices(fmt.Errorf("%s: %w", s.name, err))
			}
		})
	}
	// The SQL store starts in the background and never stops the bank.
	services.Go(func() { sql.run(ctx, brokers, b.registryURL, log) })

	client, err := kafka.Connect(ctx, brokers, kafka.NewConfig("openbank-http"), log)
	if err != nil {
		return err
	}
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		client.Close()
		return fmt.Errorf("kafka admin: %w", err)
	}
	defer admin.Close() // closes client too
	reg, err := sr.NewClient(sr.URLs(b.registryURL))
	if err != nil {
		return fmt.Errorf("schema registry client: %w", err)
	}

	gw, err := gateway.New(ctx, gwConfig, topology.NewCodec(reg))
	if err != nil {
		return err
	}
	defer gw.Close()

	st := &clusterStatus{admin: admin, client: client, registry: reg}
	s := &site{api: gw.Handler(), status: st.serve, profiles: *f.profiles, checks: []check{
		{"kafka", func(context.Context) error { return client.RefreshMetadata() }},
		{"schema_registry", func(ctx context.Context) error { _, err := reg.Subjects(ctx); return err }},
		{"commands", func(context.Context) error { return starting(&commandsReady, "the command handler is still starting") }},
		{"projector", func(context.Context) error {
			return starting(&projectorReady, "the projector is still rebuilding its read model")
		}},
		{"alerts", func(context.Context) error { return starting(&alertsReady, "the alerts service is still starting") }},
	}, optional: []check{{"reports", sql.check}}}
	url := browserURL(ln.Addr())
	fmt.Fprintf(stdout, "Open Bank is running: open %s (GraphiQL at %sgraphiql, GraphQL at %sgraphql; Kafka at %s, Schema Registry at %s, metrics and status at %s, data in %s; %s; started in %s; Ctrl-C stops)\n",
		url, url, url, b.broker.Addr(), b.registryURL, adminURL(adminLn), *fl.dataDir, sql.line(), time.Since(started).Round(time.Millisecond))
	err = serveSite(ctx, ln, adminLn, s, f.serverTimeouts(), log)
	log.Info("stopping")
	if cause := context.Cause(ctx); err == nil && !errors.Is(cause, context.Canceled) {
		err = cause // the service that stopped the bank
	}
	return err
}

func starting(ready *atomic.Bool, msg string) error {
	if !ready.Load() {
		return errors.New(msg)
	}
	return nil
}

// browserURL turns a listen address into a URL a person can open.
func browserURL(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return "http://" + a.String() + "/"
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && (ip.IsUnspecified() || ip.IsLoopback()) {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port) + "/"
}

// site is what a bank process serves over HTTP: health and readiness, the
// GraphQL API and the frontend when it runs a gateway, and a view of the
// cluster when it has one.
type site struct {
	api    http.Handler
	status http.HandlerFunc
	checks []check
	// optional are listed by /readyz without making it fail: parts the
	// bank serves without (the SQL reports store).
	optional []check
	profiles bool // serve /debug/pprof/
}

// check is one condition of readiness.
type check struct {
	name string
	fn   func(context.Context) error
}

// handler serves everything on one address: what a service without a
// public side (command handler, projector, alerts) serves. A gateway
// serves public and admin (admin.go) on two.
func (s *site) handler() http.Handler {
	mux := http.NewServeMux()
	s.health(mux)
	s.operations(mux)
	if s.api != nil {
		mux.Handle("/", s.api)
	}
	return mux
}

// health serves /healthz and /readyz.
func (s *site) health(mux *http.ServeMux) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", s.ready)
}

// operations serves /metrics, /status and the profiles, for operators.
func (s *site) operations(mux *http.ServeMux) {
	mux.Handle("GET /metrics", promhttp.Handler())
	if s.status != nil {
		mux.HandleFunc("GET /status", s.status)
	}
	if s.profiles {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
}

// ready reports whether every check passes now.
func (s *site) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	problems := map[string]string{}
	for _, c := range s.checks {
		if err := c.fn(ctx); err != nil {
			problems[c.name] = err.Error()
		}
	}
	optional := map[string]string{}
	for _, c := range s.optional {
		optional[c.name] = "ready"
		if err := c.fn(ctx); err != nil {
			optional[c.name] = err.Error()
		}
	}
	answer := map[string]any{"status": "ready"}
	if len(optional) > 0 {
		answer["optional"] = optional
	}
	if len(problems) > 0 {
		answer["status"], answer["problems"] = "not ready", problems
		writeJSON(w, http.StatusServiceUnavailable, answer)
		return
	}
	writeJSON(w, http.StatusOK, answer)
}

// clusterStatus shows what the backbone holds.
type clusterStatus struct {
	admin    sarama.ClusterAdmin
	client   sarama.Client
	registry *sr.Client
}

type topicStatus struct {
	Name       string   `json:"name"`
	Partitions int32    `json:"partitions"`
	Records    []string `json:"records"`
	Doc        string   `json:"doc"`
	Exists     bool     `json:"exists"`
}

func (s *clusterStatus) serve(w http.ResponseWriter, r *http.Request) {
	existing, err := s.admin.ListTopics()
	if err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "list topics: " + err.Error()})
		return
	}
	subjects, err := s.registry.Subjects(r.Context())
	if err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "list subjects: " + err.Error()})
		return
	}
	var topics []topicStatus
	for _, t := range topology.Topics {
		d, ok := existing[t.Name]
		topics = append(topics, topicStatus{Name: t.Name, Partitions: d.NumPartitions, Records: t.Records, Doc: t.Doc, Exists: ok})
	}
	slices.Sort(subjects)
	var brokers []string
	for _, b := range s.client.Brokers() {
		brokers = append(brokers, b.Addr())
	}
	writeJSON(w, http.StatusOK, map[string]any{"brokers": brokers, "topics": topics, "subjects": subjects})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
