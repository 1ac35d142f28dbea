package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/openbank/bank/topology"
	"github.com/openbank/bank/topology/kafka"
	"github.com/openbank/bank/topology/synchronizer"
	"github.com/openbank/bank/web"
)

func runEmbedded(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	f := newFlags("run", getenv, stderr)
	fl := f.backbone()
	cf := f.commands()
	pf := f.projectorFlags()
	httpAddr := f.string("http-addr", "BANK_HTTP_ADDR", ":8888", "listen address of the bank's HTTP server")
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
	if _, err := syncTopology(ctx, brokers, b.registryURL, time.Minute, synchronizer.Options{Log: log}); err != nil {
		return err
	}
	// The services run until ctx ends; the first to fail stops the bank.
	ctx, stopServices := context.WithCancelCause(ctx)
	var services sync.WaitGroup
	defer services.Wait()
	defer stopServices(nil)
	st := &status{}
	services.Add(1)
	go func() {
		defer services.Done()
		err := commandHandler(ctx, brokers, b.registryURL, cf, log, func() { st.commandsReady.Store(true) })
		if err != nil {
			stopServices(fmt.Errorf("command handler: %w", err))
		}
	}()
	services.Add(1)
	go func() {
		defer services.Done()
		err := runProjectorService(ctx, brokers, b.registryURL, pf, log, func() { st.projectorReady.Store(true) })
		if err != nil {
			stopServices(fmt.Errorf("projector: %w", err))
		}
	}()

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

	st.admin, st.client, st.registry = admin, client, reg
	srv := &http.Server{
		Handler:           newHTTPHandler(st),
		ReadHeaderTimeout: 10 * time.Second,
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "Open Bank is running: open %s (Kafka at %s, Schema Registry at %s, data in %s; started in %s; Ctrl-C stops)\n",
		browserURL(ln.Addr()), b.broker.Addr(), b.registryURL, *fl.dataDir, time.Since(started).Round(time.Millisecond))

	select {
	case <-ctx.Done():
		log.Info("stopping")
	case err := <-serveErr:
		return fmt.Errorf("http: %w", err)
	}
	var failure error // a service's, when one stopped the bank
	if cause := context.Cause(ctx); !errors.Is(cause, context.Canceled) {
		failure = cause
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Warn("http shutdown", "err", err)
	}
	return failure
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

// status answers health, readiness and what the backbone holds.
type status struct {
	admin          sarama.ClusterAdmin
	client         sarama.Client
	registry       *sr.Client
	commandsReady  atomic.Bool
	projectorReady atomic.Bool
}

func newHTTPHandler(s *status) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", s.ready)
	mux.HandleFunc("GET /status", s.status)
	static, _ := fs.Sub(web.Files, "static")
	mux.Handle("GET /", http.FileServerFS(static))
	return mux
}

// ready reports whether Kafka and the registry answer now.
func (s *status) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	problems := map[string]string{}
	if err := s.client.RefreshMetadata(); err != nil {
		problems["kafka"] = err.Error()
	}
	if _, err := s.registry.Subjects(ctx); err != nil {
		problems["schema_registry"] = err.Error()
	}
	if !s.commandsReady.Load() {
		problems["commands"] = "the command handler is still starting"
	}
	if !s.projectorReady.Load() {
		problems["projector"] = "the projector is still rebuilding its read model"
	}
	if len(problems) > 0 {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "not ready", "problems": problems})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

type topicStatus struct {
	Name       string   `json:"name"`
	Partitions int32    `json:"partitions"`
	Records    []string `json:"records"`
	Doc        string   `json:"doc"`
	Exists     bool     `json:"exists"`
}

func (s *status) status(w http.ResponseWriter, r *http.Request) {
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
