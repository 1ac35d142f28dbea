package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/openbank/bank/contract"
)

type account struct{ user, iban, token, session string }

type bench struct {
	cfg   config
	http  *http.Client
	log   io.Writer
	runID string

	accounts []account

	mu        sync.Mutex
	latencies []time.Duration // of answered transfers
	e2e       []time.Duration // mutation sent → transaction on a subscriber
	errors    map[string]int

	sent      sync.Map // descr → time sent, for end-to-end latency
	completed atomic.Int64
	failed    atomic.Int64
	inFlight  atomic.Int64
	notSent   atomic.Int64
	subErrors atomic.Int64
	received  atomic.Int64
	listeners sync.WaitGroup // subscribers' readers, waited for before the results are read
}

func newBench(cfg config, log io.Writer) *bench {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 4096, 4096
	return &bench{cfg: cfg, http: &http.Client{Transport: tr, Timeout: cfg.timeout}, log: log,
		runID: uuid.NewString()[:8], errors: map[string]int{}}
}

// gql posts an operation and decodes data.<field> into out; a GraphQL
// error comes back as an error.
func (b *bench) gql(ctx context.Context, session, query string, vars map[string]any, field string, out any) error {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.cfg.url+"/graphql", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if session != "" {
		req.Header.Set("Authorization", "Bearer "+session)
	}
	res, err := b.http.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	var r struct {
		Data   map[string]json.RawMessage `json:"data"`
		Errors []struct{ Message string } `json:"errors"`
	}
	if err := json.NewDecoder(res.Body).Decode(&r); err != nil {
		return fmt.Errorf("HTTP %s: %w", res.Status, err)
	}
	if len(r.Errors) > 0 {
		return fmt.Errorf("%s", r.Errors[0].Message)
	}
	return json.Unmarshal(r.Data[field], out)
}

const transferMutation = `mutation($uuid: String!, $user: String!, $token: String!, $amount: Int!, $from: String!, $to: String!, $descr: String!) {
  money_transfer(uuid: $uuid, username: $user, token: $token, amount: $amount, from: $from, to: $to, descr: $descr) { success reason status }
}`

type transferResult struct {
	Success *bool   `json:"success"`
	Reason  *string `json:"reason"`
	Status  string  `json:"status"`
}

func (b *bench) transfer(ctx context.Context, from account, to string, amount int, descr string) (transferResult, error) {
	var r transferResult
	err := b.gql(ctx, "", transferMutation, map[string]any{"uuid": uuid.NewString(), "user": from.user, "token": from.token,
		"amount": amount, "from": from.iban, "to": to, "descr": descr}, "money_transfer", &r)
	return r, err
}

// setup opens and funds the accounts, 16 at a time.
func (b *bench) setup(ctx context.Context) error {
	b.accounts = make([]account, b.cfg.accounts)
	sem := make(chan struct{}, 16)
	errs := make(chan error, b.cfg.accounts)
	var wg sync.WaitGroup
	for i := range b.cfg.accounts {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			user := fmt.Sprintf("bench-%s-%d", b.runID, i)
			var a struct {
				IBAN    string  `json:"iban"`
				Token   string  `json:"token"`
				Session string  `json:"session"`
				Reason  *string `json:"reason"`
			}
			err := b.gql(ctx, "", `mutation($u: String!) { sign_up(username: $u, password: "bench") { iban token session reason } }`,
				map[string]any{"u": user}, "sign_up", &a)
			if err != nil && strings.Contains(err.Error(), `Cannot query field "sign_up"`) {
				// A bank from before sign-up and sessions (to compare
				// builds): its log-in opens the account, and reads need
				// no session.
				err = b.gql(ctx, "", `mutation($u: String!) { get_account(username: $u, password: "bench") { iban token reason } }`,
					map[string]any{"u": user}, "get_account", &a)
			}
			if err == nil && a.Reason != nil {
				err = fmt.Errorf("%s", *a.Reason)
			}
			if err != nil {
				errs <- fmt.Errorf("open account %s: %w", user, err)
				return
			}
			acc := account{user, a.IBAN, a.Token, a.Session}
			r, err := b.transferFrom(ctx, acc)
			if err == nil && (r.Success == nil || !*r.Success) {
				err = fmt.Errorf("%v", deref(r.Reason))
			}
			if err != nil {
				errs <- fmt.Errorf("fund %s: %w", acc.iban, err)
				return
			}
			b.accounts[i] = acc
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// transferFrom deposits ten thousand euros on acc from cash: the most one
// cash deposit may be (contract.DefaultMaxDeposit), far more than the
// benchmark's transfers of a few cents take.
// A deposit without an outcome in time (PENDING) is asked again with the
// same uuid, as the API says: it answers the outcome and never deposits
// twice.
func (b *bench) transferFrom(ctx context.Context, acc account) (transferResult, error) {
	vars := map[string]any{"uuid": uuid.NewString(), "user": acc.user, "token": acc.token,
		"amount": contract.DefaultMaxDeposit, "from": "cash", "to": acc.iban, "descr": "bench funds"}
	for try := 0; ; try++ {
		var r transferResult
		err := b.gql(ctx, "", transferMutation, vars, "money_transfer", &r)
		if err != nil || r.Status != "PENDING" || try == 10 {
			return r, err
		}
	}
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

func (b *bench) fail(reason string) {
	b.failed.Add(1)
	b.mu.Lock()
	b.errors[reason]++
	b.mu.Unlock()
}

// load starts transfers on schedule until the duration is over, then waits
// for the answers still due.
func (b *bench) load(ctx context.Context) {
	interval := time.Duration(float64(time.Second) / b.cfg.rate)
	start := time.Now()
	var wg sync.WaitGroup
	for n := int64(0); ; n++ {
		due := start.Add(time.Duration(n) * interval)
		if due.Sub(start) >= b.cfg.duration || ctx.Err() != nil {
			break
		}
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
		if b.inFlight.Load() >= int64(b.cfg.maxInFlight) {
			b.notSent.Add(1)
			continue
		}
		from := b.accounts[rand.IntN(len(b.accounts))]
		to := b.accounts[rand.IntN(len(b.accounts))]
		for to.iban == from.iban {
			to = b.accounts[rand.IntN(len(b.accounts))]
		}
		descr := "b" + strconv.FormatInt(n, 10)
		b.inFlight.Add(1)
		wg.Go(func() {
			defer b.inFlight.Add(-1)
			sent := time.Now()
			b.sent.Store(descr, sent)
			r, err := b.transfer(ctx, from, to.iban, 1, descr)
			took := time.Since(sent)
			switch {
			case err != nil:
				b.fail(trimErr(err))
				return
			case r.Status == "PENDING":
				b.fail("PENDING (no answer in the gateway's time)")
				return
			case r.Success == nil || !*r.Success:
				b.fail(deref(r.Reason))
				return
			}
			b.completed.Add(1)
			b.mu.Lock()
			b.latencies = append(b.latencies, took)
			b.mu.Unlock()
		})
	}
	wg.Wait()
}

func trimErr(err error) string {
	s := err.Error()
	if i := strings.Index(s, ": dial"); i > 0 {
		s = s[i+2:]
	}
	if len(s) > 120 {
		s = s[:120]
	}
	return s
}

// seen records a transaction received by a subscriber: the first sighting
// of each transfer gives its end-to-end latency.
func (b *bench) seen(descr string) {
	b.received.Add(1)
	if v, ok := b.sent.LoadAndDelete(descr); ok {
		d := time.Since(v.(time.Time))
		b.mu.Lock()
		b.e2e = append(b.e2e, d)
		b.mu.Unlock()
	}
}

func (b *bench) run(ctx context.Context) (*results, error) {
	t0 := time.Now()
	fmt.Fprintf(b.log, "setting up %d accounts…\n", b.cfg.accounts)
	if err := b.setup(ctx); err != nil {
		return nil, err
	}
	setup := time.Since(t0)
	runtimeSettle()
	unsubscribed := b.sample(ctx)
	subCtx, stopSubs := context.WithCancel(ctx)
	defer stopSubs()
	subs, err := b.subscribe(subCtx)
	if err != nil {
		return nil, err
	}
	b.waitSubscribed(ctx, subs)
	runtimeSettle()
	subscribed := b.sample(ctx)
	before := b.waitSettled(ctx, subscribed)
	idleRSS := before

	fmt.Fprintf(b.log, "%d accounts in %s; %d subscribers; sending %.0f transfers/s for %s\n",
		b.cfg.accounts, setup.Round(time.Millisecond), subs, b.cfg.rate, b.cfg.duration)
	progressDone := make(chan struct{})
	peak := map[string]float64{}
	peakLag := map[string]map[string]float64{} // per service, group
	notePeakLag := func(name string, s usage) {
		if peakLag[name] == nil {
			peakLag[name] = map[string]float64{}
		}
		for g, v := range s.lag {
			peakLag[name][g] = max(peakLag[name][g], v)
		}
	}
	go func() {
		defer close(progressDone)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		start := time.Now()
		for {
			select {
			case <-subCtx.Done():
				return
			case <-tick.C:
				for name, s := range b.sample(ctx) {
					peak[name] = max(peak[name], s.rss)
					notePeakLag(name, s)
				}
				fmt.Fprintf(b.log, "%4.0fs  completed %d  failed %d  in flight %d  not sent %d  seen by subscribers %d\n",
					time.Since(start).Seconds(), b.completed.Load(), b.failed.Load(), b.inFlight.Load(), b.notSent.Load(), b.received.Load())
			}
		}
	}()
	loadStart := time.Now()
	b.load(ctx)
	elapsed := time.Since(loadStart)
	time.Sleep(500 * time.Millisecond) // the last transactions reach the subscribers
	after := b.sample(ctx)
	stopSubs()
	b.listeners.Wait()
	<-progressDone
	b.mu.Lock()
	defer b.mu.Unlock()

	res := &results{
		Config: runConfig{URL: b.cfg.url, Accounts: b.cfg.accounts, Rate: b.cfg.rate, Duration: b.cfg.duration.String(), Subscribers: b.cfg.subscribers},
		Setup:  setup.Round(time.Millisecond).String(), Completed: b.completed.Load(), Failed: b.failed.Load(), NotSent: b.notSent.Load(),
		Throughput: float64(b.completed.Load()) / elapsed.Seconds(), Errors: b.errors, SubscriberErrors: b.subErrors.Load(),
		TransactionsSeen: b.received.Load(), Services: map[string]serviceUse{},
	}
	res.Sent = res.Completed + res.Failed
	res.Mutation = summarize(b.latencies)
	res.EndToEnd = summarize(b.e2e)
	for name, a := range after {
		bf := before[name]
		use := serviceUse{CPUCores: (a.cpu - bf.cpu) / a.at.Sub(bf.at).Seconds(), RSSMiB: a.rss / (1 << 20),
			PeakRSSMiB: max(peak[name], a.rss) / (1 << 20), RSSBeforeLoadMiB: idleRSS[name].rss / (1 << 20),
			RSSBeforeSubscribersMiB: unsubscribed[name].rss / (1 << 20), SubscribersBeforeLoad: idleRSS[name].subscribers,
			RSSSubscribedMiB: subscribed[name].rss / (1 << 20)}
		notePeakLag(name, a)
		if len(a.lag) > 0 {
			use.ConsumerLag, use.ConsumerLagPeak = a.lag, peakLag[name]
		}
		// Per subscription the service runs, when it says how many.
		n := float64(subs)
		if running := idleRSS[name].subscribers; running > 0 {
			n = running
		}
		if n > 0 {
			use.KiBPerSubscriber = (idleRSS[name].rss - unsubscribed[name].rss) / 1024 / n
			use.KiBPerSubscriberAtOnce = (subscribed[name].rss - unsubscribed[name].rss) / 1024 / n
		}
		res.Services[name] = use
	}
	return res, nil
}

type latency struct {
	Samples int     `json:"samples"`
	P50     float64 `json:"p50_ms"`
	P90     float64 `json:"p90_ms"`
	P99     float64 `json:"p99_ms"`
	Max     float64 `json:"max_ms"`
}

func summarize(ds []time.Duration) latency {
	if len(ds) == 0 {
		return latency{}
	}
	slices.Sort(ds)
	at := func(q float64) float64 { return ms(ds[min(int(q*float64(len(ds))), len(ds)-1)]) }
	return latency{Samples: len(ds), P50: at(0.5), P90: at(0.9), P99: at(0.99), Max: ms(ds[len(ds)-1])}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// waitSubscribed waits (two minutes at most) until the gateway runs the n
// subscriptions asked for (those that failed counted out), as its
// openbank_websocket_subscribers says: on a busy machine it may take
// longer to start them than the clients took to ask, and the memory of
// idle subscribers is read once they run. A gateway that does not say is
// not waited for.
func (b *bench) waitSubscribed(ctx context.Context, n int) {
	if n == 0 {
		return
	}
	start := time.Now()
	for time.Since(start) < 2*time.Minute {
		s, ok := b.sample(ctx)["gateway"]
		if !ok || s.subscribers < 0 {
			return
		}
		if int(s.subscribers)+int(b.subErrors.Load()) >= n {
			if time.Since(start) > 2*time.Second {
				fmt.Fprintf(b.log, "the gateway runs %.0f subscriptions, %s after they were asked for\n", s.subscribers, time.Since(start).Round(time.Millisecond))
			}
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
	fmt.Fprintf(b.log, "the gateway did not start all %d subscriptions within two minutes\n", n)
}

// waitSettled samples the services until their memory stops falling
// (under 1% in 3 s; 30 s at most) and returns the last sample: what an
// idle subscriber costs is read once the garbage of subscribing ten
// thousand of them (HTTP upgrades, each subscription's authorization
// asked of Kafka) has been collected and given back, rather than the
// peak it left.
func (b *bench) waitSettled(ctx context.Context, last map[string]usage) map[string]usage {
	start, steady := time.Now(), 0
	for steady < 3 && time.Since(start) < 30*time.Second {
		select {
		case <-ctx.Done():
			return last
		case <-time.After(time.Second):
		}
		s := b.sample(ctx)
		steady++
		for name, u := range s {
			if p, ok := last[name]; !ok || u.rss < p.rss*0.99 {
				steady = 0
			}
		}
		last = s
	}
	fmt.Fprintf(b.log, "memory settled %s after the subscriptions ran\n", time.Since(start).Round(time.Second))
	return last
}

// runtimeSettle gives the services a moment after a burst (sign-ups,
// connections) before their memory is read.
func runtimeSettle() { time.Sleep(time.Second) }
