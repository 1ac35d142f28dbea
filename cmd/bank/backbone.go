package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/openbank/bank/services/broker"
	"github.com/openbank/bank/services/schemaregistry"
	"github.com/openbank/bank/topology/kafka"
)

// backbone is the embedded Kafka broker and Schema Registry.
type backbone struct {
	broker      *broker.Broker
	registry    *schemaregistry.Registry
	registrySrv *http.Server
	registryURL string
	// creds are what the broker and the registry accept (and the
	// embedded services use); acls whether the broker enforces the
	// principals table.
	creds credentials
	acls  bool
	log   *slog.Logger
	// unroute ends the in-memory route of the bank's own clients.
	unroute func()
}

type backboneFlags struct {
	dataDir      *string
	kafkaPort    *int
	registryAddr *string
	syncWrites   *bool
}

func (f *flags) backbone() backboneFlags {
	f.securityFlags() // the credentials the broker and registry accept
	return backboneFlags{
		dataDir:      f.string("data-dir", "BANK_DATA_DIR", "./data", "where the embedded broker and registry keep their data"),
		kafkaPort:    f.int("kafka-port", "KAFKA_PORT", 9092, "port of the embedded Kafka broker on 127.0.0.1 (0 picks a free one)"),
		registryAddr: f.string("registry-addr", "SCHEMA_REGISTRY_ADDR", "127.0.0.1:8081", "listen address of the embedded Schema Registry"),
		syncWrites:   f.syncWrites(),
	}
}

// syncWrites is --sync-writes, on unless the flag or KAFKA_SYNC_WRITES turns
// it off (f.bool defaults to off).
func (f *flags) syncWrites() *bool {
	v := true
	switch s := strings.ToLower(f.getenv("KAFKA_SYNC_WRITES")); s {
	case "", "1", "true", "yes", "on":
	case "0", "false", "no", "off":
		v = false
	default:
		f.errs = append(f.errs, fmt.Errorf("KAFKA_SYNC_WRITES=%q: not a boolean", s))
	}
	return f.Bool("sync-writes", v, "acknowledge a write to the embedded broker only once it is fsynced (on by default); "+
		"--sync-writes=false survives a crash of the process but not a power cut: unsafe for money, for tests and benchmarks (env KAFKA_SYNC_WRITES)")
}

// startBackbone starts the embedded broker and registry, which accept
// the credentials sec gives or those kept in the data dir (generated at
// the first start); with principals' passwords, the broker has the
// principals of topology.Principals and enforces their ACLs instead.
func startBackbone(fl backboneFlags, sec kafka.Security, principals map[string]string, log *slog.Logger) (*backbone, error) {
	dir, err := filepath.Abs(*fl.dataDir)
	if err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	if err := prepareDataDir(dir, log); err != nil {
		return nil, err
	}
	b := &backbone{log: log}
	if b.creds, err = embeddedCredentials(dir, sec, log); err != nil {
		return nil, err
	}
	users, acls, err := brokerUsers(b.creds.sec, principals)
	if err != nil {
		return nil, err
	}
	b.acls = acls
	b.broker, err = broker.Start(broker.Config{Port: *fl.kafkaPort, DataDir: dir, SyncWrites: fl.syncWrites, Log: log,
		Users: users, ACLs: acls})
	if err != nil {
		return nil, err
	}
	registerSyncMetrics(b.broker)
	b.registry, err = schemaregistry.Open(dir, schemaregistry.WithLogger(log))
	if err != nil {
		b.broker.Close()
		return nil, err
	}
	ln, err := net.Listen("tcp", *fl.registryAddr)
	if err != nil {
		b.registry.Close()
		b.broker.Close()
		return nil, fmt.Errorf("schema registry: %w", err)
	}
	b.registryURL = "http://" + ln.Addr().String()
	reg := schemaregistry.RequireBasicAuth(b.registry.Handler(), b.creds.sec.Registry.User, b.creds.sec.Registry.Password)
	b.registrySrv = &http.Server{Handler: reg, ReadTimeout: 30 * time.Second, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	go func() {
		if err := b.registrySrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("schema registry stopped", "err", err)
		}
	}()
	// The services of this process reach the broker in memory; outside
	// clients (kcat, a second process) over TCP.
	b.unroute = kafka.RouteLocal(b.broker.Addr(), b.broker.DialLocal)
	log.Info("embedded backbone started", "kafka", b.broker.Addr(), "schema_registry", b.registryURL, "data_dir", dir)
	return b, nil
}

// Close stops the registry, then the broker, which writes its state to disk.
func (b *backbone) Close(ctx context.Context) {
	if err := b.registrySrv.Shutdown(ctx); err != nil {
		b.log.Warn("schema registry shutdown", "err", err)
	}
	if err := b.registry.Close(); err != nil {
		b.log.Warn("schema registry close", "err", err)
	}
	b.unroute()
	b.broker.Close()
}

func runBroker(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	f := newFlags("broker", getenv, stderr)
	fl := f.backbone()
	log, err := f.parse(args)
	if err != nil {
		return err
	}
	b, err := startBackbone(fl, f.sec, principalPasswords(getenv), log)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Kafka broker at %s, Schema Registry at %s\n", b.broker.Addr(), b.registryURL)
	fmt.Fprintln(stdout, connectHint(b.creds, b.broker.Addr(), b.registryURL, b.acls))
	<-ctx.Done()
	log.Info("stopping")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b.Close(shutdownCtx)
	log.Info("stopped")
	return nil
}

// registerSyncMetrics exports the embedded broker's fsyncs (a benchmark
// counts them per transfer) and its connections (the bank's own services
// must all come in memory). A second broker in one process (tests) keeps
// the first's.
func registerSyncMetrics(br *broker.Broker) {
	for _, m := range []prometheus.Collector{
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "openbank_broker_sync_rounds_total",
			Help: "Rounds of fsyncs the embedded broker ran before acknowledging writes (group commit: one round serves every write waiting)."},
			func() float64 { r, _ := br.SyncStats(); return float64(r) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "openbank_broker_fsyncs_total",
			Help: "Files and directories the embedded broker fsynced."},
			func() float64 { _, n := br.SyncStats(); return float64(n) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "openbank_broker_connections_total",
			Help:        "Connections the embedded broker accepted, by way: tcp (outside clients) or memory (the bank's own services).",
			ConstLabels: prometheus.Labels{"via": "tcp"}},
			func() float64 { n, _ := br.Connections(); return float64(n) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "openbank_broker_connections_total",
			Help:        "Connections the embedded broker accepted, by way: tcp (outside clients) or memory (the bank's own services).",
			ConstLabels: prometheus.Labels{"via": "memory"}},
			func() float64 { _, n := br.Connections(); return float64(n) }),
	} {
		if err := prometheus.Register(m); err != nil && !errors.As(err, new(prometheus.AlreadyRegisteredError)) {
			panic(err)
		}
	}
}
