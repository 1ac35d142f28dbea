package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"

	"github.com/openbank/bank/services/gateway"
	"github.com/openbank/bank/site"
	"github.com/openbank/bank/topology"
	"github.com/openbank/bank/topology/kafka"
	"github.com/openbank/bank/topology/synchronizer"
)

// embeddedFlags are the one-command bank's flags: every service's.
type embeddedFlags struct {
	backbone   backboneFlags
	commands   commandsFlags
	projector  projectorFlags
	alerts     alertsFlags
	reports    embeddedReportsFlags
	gateway    gatewayFlags
	http, admn *string
}

// runEmbedded is `bank`: the broker and the registry embedded, kept on disk,
// and every service in this process, served on one HTTP address (and the
// operators' on another). It wires; the parts serve.
func runEmbedded(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	f := newFlags("run", getenv, stderr)
	lf := f.limits()
	ef := embeddedFlags{backbone: f.backbone(), commands: f.commands(lf), projector: f.projectorFlags(), alerts: f.alertsFlags(),
		reports: f.embeddedReports(), gateway: f.gatewayFlags("", true, lf), // GraphiQL for developers
		http: f.httpAddr(), admn: f.adminAddr()}
	log, err := f.parse(args)
	if err != nil {
		return err
	}
	started := time.Now()
	ln, adminLn, err := listen(*ef.http, *ef.admn)
	if err != nil {
		return err
	}
	defer closeAll(ln, adminLn)
	b, err := startBackbone(ef.backbone, f.sec, nil, log)
	if err != nil {
		return err
	}
	// The embedded services speak as the backbone's one principal.
	if err := kafka.SetSecurity(b.creds.sec); err != nil {
		b.Close(context.Background())
		return err
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		b.Close(ctx)
		log.Info("stopped")
	}()
	brokers := []string{b.broker.Addr()}
	sql, err := ef.reports.prepare(*ef.backbone.dataDir, log)
	if err != nil {
		return err
	}
	if _, err := syncTopology(ctx, brokers, b.registryURL, time.Minute, synchronizer.Options{Log: log, MaxPartitions: 1}); err != nil {
		return err
	}
	gwConfig, err := embeddedGateway(ef.gateway, *ef.backbone.dataDir, brokers, log)
	if err != nil {
		return err
	}
	// The services run until ctx ends; the first to fail stops the bank.
	ctx, stopServices := context.WithCancelCause(ctx)
	var services sync.WaitGroup
	defer services.Wait()
	defer stopServices(nil)
	checks := ef.startServices(ctx, &services, stopServices, brokers, b.registryURL, log)
	// The SQL store starts in the background and never stops the bank.
	services.Go(func() { sql.run(ctx, brokers, b.registryURL, log) })

	s, closeSite, err := embeddedSite(ctx, brokers, b.registryURL, gwConfig, *f.profiles, log)
	if err != nil {
		return err
	}
	defer closeSite()
	s.Checks = append(s.Checks, checks...)
	s.Optional = []site.Check{{Name: "reports", Fn: sql.check}}
	url := browserURL(ln.Addr())
	fmt.Fprintf(stdout, "Open Bank is running: open %s (GraphiQL at %sgraphiql, GraphQL at %sgraphql; Kafka at %s, Schema Registry at %s, metrics and status at %s, data in %s; %s; started in %s; Ctrl-C stops)\n",
		url, url, url, b.broker.Addr(), b.registryURL, adminURL(adminLn), *ef.backbone.dataDir, sql.line(), time.Since(started).Round(time.Millisecond))
	fmt.Fprintln(stdout, connectHint(b.creds, b.broker.Addr(), b.registryURL, false))
	err = site.ServePublicAndAdmin(ctx, ln, adminLn, s, f.serverTimeouts(), log)
	log.Info("stopping")
	if cause := context.Cause(ctx); err == nil && !errors.Is(cause, context.Canceled) {
		err = cause // the service that stopped the bank
	}
	return err
}

// listen opens the public address and the admin one (nil when off).
func listen(httpAddr, adminAddr string) (net.Listener, net.Listener, error) {
	ln, err := net.Listen("tcp", httpAddr)
	if err != nil {
		return nil, nil, fmt.Errorf("serve HTTP (is another bank running? --http-addr picks another address): %w", err)
	}
	adminLn, err := listenAdmin(adminAddr)
	if err != nil {
		ln.Close()
		return nil, nil, err
	}
	return ln, adminLn, nil
}

func closeAll(lns ...net.Listener) {
	for _, ln := range lns {
		if ln != nil {
			ln.Close()
		}
	}
}

// embeddedGateway configures the gateway of the one-command bank: its
// session key and employee password kept in the data directory, so they
// outlive restarts like the data.
func embeddedGateway(gf gatewayFlags, dataDir string, brokers []string, log *slog.Logger) (gateway.Config, error) {
	if *gf.keyFile == "" && *gf.secret == "" {
		*gf.keyFile = sessionKeyFile(dataDir)
	}
	if *gf.employee == "" {
		pw, file, err := employeePassword(dataDir)
		if err != nil {
			return gateway.Config{}, err
		}
		*gf.employee = pw
		log.Info("employee password for the employee page is in " + file)
	}
	return gf.config(brokers, log)
}

// startServices starts the command handler, the projector and the alerts
// service under services; the first to fail stops the bank. It returns
// their readiness checks.
func (ef embeddedFlags) startServices(ctx context.Context, services *sync.WaitGroup, stop context.CancelCauseFunc,
	brokers []string, registryURL string, log *slog.Logger) []site.Check {
	var checks []site.Check
	for _, s := range []struct {
		check, name, waiting string
		run                  service
	}{
		{"commands", "command handler", "the command handler is still starting", ef.commands.run},
		{"projector", "projector", "the projector is still rebuilding its read model", ef.projector.run},
		{"alerts", "alerts", "the alerts service is still starting", ef.alerts.run},
	} {
		ready := &atomic.Bool{}
		services.Go(func() {
			if err := s.run(ctx, brokers, registryURL, log, func() { ready.Store(true) }); err != nil {
				stop(fmt.Errorf("%s: %w", s.name, err))
			}
		})
		checks = append(checks, site.Check{Name: s.check, Fn: func(context.Context) error { return starting(ready, s.waiting) }})
	}
	return checks
}

// embeddedSite connects the gateway and what /status and /readyz ask, and
// returns the site serving them; closeSite releases them.
func embeddedSite(ctx context.Context, brokers []string, registryURL string, gwConfig gateway.Config, profiles bool,
	log *slog.Logger) (s *site.Site, closeSite func(), err error) {
	client, err := kafka.Connect(ctx, brokers, kafka.NewConfig("openbank-http"), log)
	if err != nil {
		return nil, nil, err
	}
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		client.Close()
		return nil, nil, fmt.Errorf("kafka admin: %w", err)
	}
	reg, err := kafka.RegistryClient(registryURL)
	if err != nil {
		admin.Close()
		return nil, nil, fmt.Errorf("schema registry client: %w", err)
	}
	gw, err := gateway.New(ctx, gwConfig, topology.NewCodec(reg))
	if err != nil {
		admin.Close()
		return nil, nil, err
	}
	st := &site.ClusterStatus{Admin: admin, Client: client, Registry: reg}
	s = &site.Site{API: gw.Handler(), Status: st.Serve, Profiles: profiles, Headers: gateway.SecurityHeaders, Checks: []site.Check{
		{Name: "kafka", Fn: func(context.Context) error { return client.RefreshMetadata() }},
		{Name: "schema_registry", Fn: func(ctx context.Context) error { _, err := reg.Subjects(ctx); return err }},
	}}
	return s, func() { gw.Close(); admin.Close() /* closes client too */ }, nil
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
