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

	"github.com/openbank/bank/services/broker"
	"github.com/openbank/bank/services/schemaregistry"
)

// backbone is the embedded Kafka broker and Schema Registry.
type backbone struct {
	broker      *broker.Broker
	registry    *schemaregistry.Registry
	registrySrv *http.Server
	registryURL string
	log         *slog.Logger
}

type backboneFlags struct {
	dataDir      *string
	kafkaPort    *int
	registryAddr *string
	syncWrites   *bool
}

func (f *flags) backbone() backboneFlags {
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

func startBackbone(fl backboneFlags, log *slog.Logger) (*backbone, error) {
	dir, err := filepath.Abs(*fl.dataDir)
	if err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	if err := prepareDataDir(dir, log); err != nil {
		return nil, err
	}
	b := &backbone{log: log}
	b.broker, err = broker.Start(broker.Config{Port: *fl.kafkaPort, DataDir: dir, SyncWrites: fl.syncWrites, Log: log})
	if err != nil {
		return nil, err
	}
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
	b.registrySrv = &http.Server{Handler: b.registry.Handler(), ReadTimeout: 30 * time.Second, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	go func() {
		if err := b.registrySrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("schema registry stopped", "err", err)
		}
	}()
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
	b.broker.Close()
}

func runBroker(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	f := newFlags("broker", getenv, stderr)
	fl := f.backbone()
	log, err := f.parse(args)
	if err != nil {
		return err
	}
	b, err := startBackbone(fl, log)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Kafka broker at %s, Schema Registry at %s\n", b.broker.Addr(), b.registryURL)
	<-ctx.Done()
	log.Info("stopping")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b.Close(shutdownCtx)
	log.Info("stopped")
	return nil
}
