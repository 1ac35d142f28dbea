package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/openbank/bank/bus"
	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/services/commandhandler/domain"
	"github.com/openbank/bank/services/reports/reportstest"
	"github.com/openbank/bank/topology"
	"github.com/openbank/bank/topology/iban"
	"github.com/openbank/bank/topology/kafka"
	"github.com/openbank/bank/topology/kafka/kafkatest"
)

var bankBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "bank-bin")
	if err != nil {
		panic(err)
	}
	bankBin = filepath.Join(dir, "bank")
	// The test credentials: the brokers and registries the tests start
	// (embedded ones through `bank`, `bank broker` and kafkatest) accept
	// them, every process started gets them (start), and this process's
	// clients use them.
	kafkatest.Credentials()
	out, err := exec.Command("go", "build", "-o", bankBin, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build bank: %v\n%s", err, out)
		os.Exit(1)
	}
	code := reportstest.Main(m) // stops the tests' PostgreSQL, if one was started
	os.RemoveAll(dir)
	os.Exit(code)
}

// skipOnRealKafka skips a test that runs its own embedded broker in the
// real-Kafka tier, where it would only repeat the embedded tier.
func skipOnRealKafka(t *testing.T) {
	t.Helper()
	if kafkatest.Real() {
		t.Skip("runs its own embedded broker: the embedded tier covers it")
	}
}

// proc is a running bank process.
type proc struct {
	cmd    *exec.Cmd
	lines  chan string // stdout, line by line
	mu     sync.Mutex
	stderr strings.Builder
	done   chan error
}

func (p *proc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.Write(b)
}

func (p *proc) logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

func start(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(bankBin, args...), lines: make(chan string, 100), done: make(chan error, 1)}
	// No test may take the default admin address: tests run side by side.
	// Every process gets the test credentials (env may override them).
	p.cmd.Env = append(append(append(os.Environ(), "ADMIN_ADDR=127.0.0.1:0"), kafkatest.ClientEnv()...), env...)
	p.cmd.Stderr = p
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
		p.done <- p.cmd.Wait()
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		if t.Failed() {
			t.Logf("stderr of bank %v:\n%s", args, p.logs())
		}
	})
	return p
}

// cluster is a `bank broker` process that `bank sync` has made match the
// topology, and the environment that points a service at it.
type cluster struct {
	broker            *proc
	brokers, registry string
	env               []string // KAFKA_BROKERS, SCHEMA_REGISTRY_URL, BANK_HTTP_ADDR on a free port
}

// startCluster starts `bank broker` with brokerEnv (none: on free ports,
// keeping its data in a temporary directory) and syncs it.
func startCluster(t *testing.T, brokerEnv ...string) *cluster {
	t.Helper()
	if len(brokerEnv) == 0 {
		brokerEnv = []string{"BANK_DATA_DIR=" + t.TempDir(), "KAFKA_PORT=0", "SCHEMA_REGISTRY_ADDR=127.0.0.1:0"}
	}
	b := start(t, brokerEnv, "broker")
	m := b.line(t, regexp.MustCompile(`^Kafka broker at (\S+), Schema Registry at (\S+)`))
	c := &cluster{broker: b, brokers: m[1], registry: m[2],
		env: []string{"KAFKA_BROKERS=" + m[1], "SCHEMA_REGISTRY_URL=" + m[2], "BANK_HTTP_ADDR=127.0.0.1:0"}}
	if err, logs := start(t, c.env, "sync").wait(t); err != nil {
		t.Fatalf("sync: %v\n%s", err, logs)
	}
	return c
}

// kafka returns the cluster as a test environment, to speak to it from
// the test.
func (c *cluster) kafka(t *testing.T) *kafkatest.Env {
	t.Helper()
	reg, err := kafka.RegistryClient(c.registry)
	if err != nil {
		t.Fatal(err)
	}
	return &kafkatest.Env{Brokers: []string{c.brokers}, RegistryURL: c.registry, Registry: reg}
}

// line waits for the first stdout line matching re.
func (p *proc) line(t *testing.T, re *regexp.Regexp) []string {
	t.Helper()
	timeout := time.After(60 * time.Second)
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				t.Fatalf("bank exited before printing %s; stderr:\n%s", re, p.logs())
			}
			if m := re.FindStringSubmatch(l); m != nil {
				return m
			}
		case <-timeout:
			t.Fatalf("no line matching %s; stderr:\n%s", re, p.logs())
		}
	}
}

// logLine waits for the first stderr line containing s and returns it.
func (p *proc) logLine(t *testing.T, s string) string {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		for _, l := range strings.Split(p.logs(), "\n") {
			if strings.Contains(l, s) {
				return l
			}
		}
	}
	t.Fatalf("no log line with %q:\n%s", s, p.logs())
	return ""
}

// stop sends SIGINT and waits for a clean exit.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("bank exited with %v after SIGINT; stderr:\n%s", err, p.logs())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("bank did not stop within 20 s of SIGINT")
	}
}

// wait returns the exit error and stderr of a process expected to end.
func (p *proc) wait(t *testing.T) (error, string) {
	t.Helper()
	for range p.lines {
	}
	select {
	case err := <-p.done:
		return err, p.logs()
	case <-time.After(60 * time.Second):
		t.Fatal("bank did not exit")
		return nil, ""
	}
}

var running = regexp.MustCompile(`^Open Bank is running: open (http://\S+) \(GraphiQL at \S+, GraphQL at (\S+); Kafka at (\S+), Schema Registry at (\S+), metrics and status at (http://\S+), data in`)

func TestRunStartsTheBankAndARestartKeepsItsData(t *testing.T) {
	skipOnRealKafka(t)
	dir := t.TempDir()
	args := []string{"--data-dir", dir, "--kafka-port", "0", "--registry-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0"}
	p := start(t, nil, args...)
	m := p.line(t, running)
	web, graphql, brokers, registry, admin := m[1], m[2], []string{m[3]}, m[4], m[5]

	// Ready once the command handler consumes and the company account is
	// open.
	for deadline := time.Now().Add(60 * time.Second); ; {
		var ready map[string]any
		code := getJSON(t, web+"readyz", &ready)
		if code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz: %d %v", code, ready)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var status struct {
		Topics []struct {
			Name   string `json:"name"`
			Exists bool   `json:"exists"`
		} `json:"topics"`
		Subjects []string `json:"subjects"`
	}
	// /status and /metrics are on the admin address only.
	for _, path := range []string{"status", "metrics"} {
		if res, err := http.Get(web + path); err != nil || res.StatusCode != http.StatusNotFound {
			t.Errorf("/%s on the public address: %v %v", path, res, err)
		} else {
			res.Body.Close()
		}
	}
	if res, err := http.Get(admin + "metrics"); err != nil || res.StatusCode != http.StatusOK {
		t.Errorf("/metrics on the admin address: %v %v", res, err)
	} else {
		res.Body.Close()
	}
	// Every service of the bank reached its broker in memory, none over
	// TCP (an address the broker advertised other than the one routed
	// would have sent them over TCP without a word).
	if tcp, memory := brokerConnections(t, admin); tcp != 0 || memory == 0 {
		t.Errorf("the bank's services connected to its broker %v times over TCP and %v in memory", tcp, memory)
	}
	getJSON(t, admin+"status", &status)
	if len(status.Topics) != len(topology.Topics) {
		t.Fatalf("status lists %d topics", len(status.Topics))
	}
	for _, tp := range status.Topics {
		if !tp.Exists {
			t.Errorf("topic %s missing", tp.Name)
		}
	}
	// The projector answers over Kafka: the company account holds its
	// initial cash.
	q := start(t, []string{"KAFKA_BROKERS=" + brokers[0], "SCHEMA_REGISTRY_URL=" + registry}, "query", "account", "NL66OPEN0000000000")
	if m := q.line(t, regexp.MustCompile(`"balance": (\d+)`)); m[1] != "100000000000" {
		t.Errorf("company balance %s", m[1])
	}
	q.wait(t)

	res, err := http.Get(web)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(page), "<title>Open Bank</title>") {
		t.Fatalf("home page: %s", page)
	}
	if res, err := http.Get(web + "graphiql"); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GraphiQL: %v %v", res, err)
	}

	// The gateway: sign up, then the same through a separate gateway
	// process, then (below) after a restart, whose session key is kept in
	// the data dir.
	var signUp struct {
		Data struct {
			Account struct{ IBAN, Session string } `json:"get_account"`
		} `json:"data"`
	}
	mutation := `{"query":"mutation { get_account(username: \"grace\", password: \"pw\") { iban session } }"}`
	postJSON(t, graphql, "", mutation, &signUp)
	if signUp.Data.Account.Session == "" {
		t.Fatalf("sign up: %+v", signUp)
	}
	me := func(url string) string {
		var r struct {
			Data struct {
				Me struct{ Username string } `json:"me"`
			} `json:"data"`
		}
		postJSON(t, url, signUp.Data.Account.Session, `{"query":"{ me { username } }"}`, &r)
		return r.Data.Me.Username
	}
	if u := me(graphql); u != "grace" {
		t.Errorf("me = %q", u)
	}
	gw := start(t, []string{"KAFKA_BROKERS=" + brokers[0], "SCHEMA_REGISTRY_URL=" + registry,
		"SESSION_KEY_FILE=" + filepath.Join(dir, "gateway", "session.key")}, "gateway", "--http-addr", "127.0.0.1:0")
	gwURL := gw.line(t, regexp.MustCompile(`^gateway: GraphQL at (\S+),`))[1]
	var again struct {
		Data struct {
			Account struct{ IBAN string } `json:"get_account"`
		} `json:"data"`
	}
	postJSON(t, gwURL, "", mutation, &again)
	if again.Data.Account.IBAN != signUp.Data.Account.IBAN {
		t.Errorf("log in through bank gateway: %+v, want %s", again, signUp.Data.Account.IBAN)
	}
	if u := me(gwURL); u != "grace" {
		t.Errorf("bank gateway with the same session key: me = %q", u)
	}
	gw.stop(t)

	// An event, consumed and committed by a group, then a restart.
	reg, _ := kafka.RegistryClient(registry)
	env := &kafkatest.Env{Brokers: brokers, RegistryURL: registry, Registry: reg}
	codec := env.Codec()
	event := &schemas.UserAccountCreatedEvent{ID: schemas.NewID(), Username: "ada", Password: "hash"}
	produce(t, brokers, codec, topology.UserEvents, event)
	env.ConsumeGroup(t, "restart", topology.UserEvents, 3) // the company account's owner, grace's sign up, then ada
	bobAt := produce(t, brokers, codec, topology.UserEvents, &schemas.UserAccountCreatedEvent{ID: schemas.NewID(), Username: "bob", Password: "hash"})
	p.stop(t)
	p.logLine(t, "msg=stopped")

	p = start(t, nil, args...)
	m = p.line(t, running)
	// stderr arrives through its own pipe: wait for the sync's line.
	if sync := p.logLine(t, "topology in sync"); !strings.Contains(sync, "schemas_registered=0") {
		t.Errorf("restart registered schemas again: %s", sync)
	}
	if u := me(m[2]); u != "grace" {
		t.Errorf("after a restart the session is refused: me = %q", u)
	}
	reg, _ = kafka.RegistryClient(m[4])
	env = &kafkatest.Env{Brokers: []string{m[3]}, RegistryURL: m[4], Registry: reg}
	// The group resumes after the committed offset: it sees bob, not ada.
	got := env.ConsumeGroup(t, "restart", topology.UserEvents, 1)
	rec, err := env.Codec().Decode(context.Background(), topology.UserEvents, got[0].Value)
	if err != nil {
		t.Fatal(err)
	}
	if u := rec.(*schemas.UserAccountCreatedEvent).Username; u != "bob" || got[0].Offset != bobAt {
		t.Fatalf("after restart the group read %s at offset %d", u, got[0].Offset)
	}
	p.stop(t)
}

func produce(t *testing.T, brokers []string, codec *topology.Codec, topic string, rec schemas.Record) (offset int64) {
	t.Helper()
	p, err := sarama.NewSyncProducer(brokers, kafka.ProducerConfig("test"))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	msg, err := kafka.Message(context.Background(), codec, topic, rec)
	if err != nil {
		t.Fatal(err)
	}
	_, offset, err = p.SendMessage(msg)
	if err != nil {
		t.Fatal(err)
	}
	return offset
}

func postJSON(t *testing.T, url, session, body string, into any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if session != "" {
		req.Header.Set("Authorization", "Bearer "+session)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if err := json.Unmarshal(b, into); err != nil {
		t.Fatalf("POST %s: %v: %s", url, err, b)
	}
}

func getJSON(t *testing.T, url string, into any) int {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if err := json.NewDecoder(res.Body).Decode(into); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return res.StatusCode
}

// The separate-process mode: `bank broker` and `bank sync` configured by
// environment variables, as the containers are.
func TestBrokerAndSyncAsSeparateProcesses(t *testing.T) {
	skipOnRealKafka(t)
	dir := t.TempDir()
	b := start(t, []string{"BANK_DATA_DIR=" + dir, "KAFKA_PORT=0", "SCHEMA_REGISTRY_ADDR=127.0.0.1:0"}, "broker")
	m := b.line(t, regexp.MustCompile(`^Kafka broker at (\S+), Schema Registry at (\S+)`))
	env := []string{"KAFKA_BROKERS=" + m[1], "SCHEMA_REGISTRY_URL=" + m[2]}

	s := start(t, env, "sync")
	if err, logs := s.wait(t); err != nil {
		t.Fatalf("sync: %v\n%s", err, logs)
	}
	s = start(t, env, "sync")
	if m := s.line(t, regexp.MustCompile(`^nothing to change`)); m == nil {
		t.Fatal("second sync changed something")
	}
	s.wait(t)

	// A second broker on the same data dir must refuse to start.
	dup := start(t, nil, "broker", "--data-dir", dir, "--kafka-port", "0", "--registry-addr", "127.0.0.1:0")
	if err, logs := dup.wait(t); err == nil || !strings.Contains(logs, "in use") {
		t.Fatalf("second broker on the same data dir: %v\n%s", err, logs)
	}
	b.stop(t)
}

// Configuration errors end with one clear line and a non-zero exit, never
// a panic or a silent hang.
func TestConfigurationErrorsGiveOneClearLine(t *testing.T) {
	kenv := kafkatest.Start(t)
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, `{"error_code":50001,"message":"registry on fire"}`, http.StatusInternalServerError)
	}))
	defer failing.Close()
	incompatible := kafkatest.Start(t)
	subject := topology.Subject(topology.UserEvents, schemas.Namespace+".UserAccountCreatedEvent")
	if _, err := incompatible.Registry.CreateSchema(context.Background(), subject, sr.Schema{
		Schema: `{"type":"record","name":"UserAccountCreatedEvent","namespace":"nl.openbank.data","fields":[{"name":"legacy","type":"string"}]}`,
	}); err != nil {
		t.Fatal(err)
	}
	brokers := strings.Join(kenv.Brokers, ",")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unreachable broker", []string{"sync", "--brokers", "127.0.0.1:1", "--schema-registry-url", kenv.RegistryURL, "--timeout", "2s"}, "127.0.0.1:1"},
		{"registry answers errors", []string{"sync", "--brokers", brokers, "--schema-registry-url", failing.URL, "--timeout", "2s"}, "registry on fire"},
		{"unreachable registry", []string{"sync", "--brokers", brokers, "--schema-registry-url", "http://127.0.0.1:1", "--timeout", "2s"}, "127.0.0.1:1"},
		{"incompatible schema", []string{"sync", "--brokers", strings.Join(incompatible.Brokers, ","), "--schema-registry-url", incompatible.RegistryURL}, "not backward compatible"},
		{"bad timeout", []string{"sync", "--timeout", "soon"}, "--timeout"},
		{"unknown command", []string{"frobnicate"}, `unknown command "frobnicate"`},
		{"bad log format", []string{"sync", "--log-format", "xml"}, "--log-format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := start(t, nil, tt.args...)
			err, logs := p.wait(t)
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 1 {
				t.Fatalf("exit: %v\n%s", err, logs)
			}
			lines := strings.Split(strings.TrimSpace(logs), "\n")
			last := lines[len(lines)-1]
			if !strings.HasPrefix(last, "bank: ") || !strings.Contains(last, tt.want) {
				t.Fatalf("last line %q does not say %q; stderr:\n%s", last, tt.want, logs)
			}
			if strings.Contains(logs, "panic") || strings.Contains(logs, "goroutine ") {
				t.Fatalf("panicked:\n%s", logs)
			}
		})
	}
}

// Command handlers as separate processes, configured as the containers are;
// one is killed with SIGKILL in the middle of a stream of transfers and
// started again. No transfer is lost or applied twice: the balances are what
// the answers say, and money is conserved.
func TestCommandHandlersSurviveSIGKILL(t *testing.T) {
	skipOnRealKafka(t)
	c := startCluster(t)
	handler := func(id string) *proc {
		return start(t, append(c.env, "INSTANCE_ID="+id), "commands")
	}
	h1, h2 := handler("one"), handler("two")

	kenv := c.kafka(t)
	requests, err := bus.New(context.Background(), kenv.Brokers, kenv.Codec(), "test", kafkatest.Log(t))
	if err != nil {
		t.Fatal(err)
	}
	defer requests.Close()
	// Everything must be answered within this; a stall fails the test
	// with the processes' logs instead of hanging it.
	deadline, cancelAll := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancelAll()
	send := func(cmd schemas.Record) (bool, string, error) {
		for {
			ctx, cancel := context.WithTimeout(deadline, 20*time.Second)
			fb, err := requests.Send(ctx, cmd)
			cancel()
			if errors.Is(err, bus.ErrTimeout) && deadline.Err() == nil {
				continue // the same id again: the outcome of the first
			}
			if err != nil {
				return false, "", err
			}
			ok, info := bus.Result(fb)
			return ok, info, nil
		}
	}
	type account struct{ iban, token string }
	var accounts []account
	want := map[string]int64{}
	for i := range 4 {
		ib := iban.Open(fmt.Sprintf("%010d", 1000+i))
		ok, reason, err := send(&schemas.CreateBankAccountCommand{ID: schemas.NewID(), IBAN: ib, Username: "u"})
		if !ok || err != nil {
			t.Fatalf("account: %s %v", reason, err)
		}
		tok := kenv.Token(t, ib, "u")
		if ok, reason, err := send(&schemas.MoneyTransferCommand{ID: schemas.NewID(), Amount: 100_000, From: "cash", To: ib, Teller: true}); !ok || err != nil {
			t.Fatalf("deposit: %s %v", reason, err)
		}
		accounts = append(accounts, account{ib, tok})
		want[ib] = 100_000
	}
	const transfers = 120
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []error
	jobs := make(chan int)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				from, to := accounts[(i+w)%4], accounts[(i+w+1+i%3)%4]
				amount := int64(1 + (i*7919)%30_000)
				ok, _, err := send(&schemas.MoneyTransferCommand{ID: schemas.NewID(), Token: from.token, Amount: amount,
					From: from.iban, To: to.iban, Username: "u"})
				mu.Lock()
				if err != nil {
					failures = append(failures, err)
				} else if ok {
					want[from.iban] -= amount
					want[to.iban] += amount
				}
				mu.Unlock()
			}
		}()
	}
	for i := range transfers {
		if i == transfers/3 {
			if err := h2.cmd.Process.Kill(); err != nil { // SIGKILL: no clean shutdown
				t.Fatal(err)
			}
			h2.wait(t)
		}
		if i == 2*transfers/3 {
			h2 = handler("two")
		}
		select {
		case jobs <- i:
		case <-deadline.Done():
		}
	}
	close(jobs)
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d transfers got no answer, the first: %v", len(failures), failures[0])
	}

	// The balances the events give match what the answers said.
	state := domain.NewState()
	for _, rec := range kenv.ReadAll(t, topology.BankEvents) {
		if err := state.Apply(rec); err != nil {
			t.Fatal(err)
		}
	}
	var sum int64
	for _, a := range accounts {
		got := state.Accounts[a.iban].Balance
		sum += got
		if got != want[a.iban] {
			t.Errorf("%s holds %d, the answers say %d", a.iban, got, want[a.iban])
		}
	}
	if sum != 4*100_000 {
		t.Errorf("money not conserved: %d", sum)
	}
	for id, tr := range state.Transfers {
		if !tr.Step.Ended() {
			t.Errorf("transfer %s left %s", id, tr.Step)
		}
	}
	h1.stop(t)
	h2.stop(t)
	c.broker.stop(t)
}

func TestBrowserURL(t *testing.T) {
	for addr, want := range map[string]string{
		"[::]:8888": "http://localhost:8888/", "0.0.0.0:8888": "http://localhost:8888/",
		"127.0.0.1:9": "http://localhost:9/", "10.1.2.3:8888": "http://10.1.2.3:8888/",
		"bank.example:80": "http://bank.example:80/",
	} {
		if got := browserURL(fakeAddr(addr)); got != want {
			t.Errorf("browserURL(%s) = %s, want %s", addr, got, want)
		}
	}
}

type fakeAddr string

func (a fakeAddr) Network() string { return "tcp" }
func (a fakeAddr) String() string  { return string(a) }

func TestQueryArguments(t *testing.T) {
	tests := []struct {
		args []string
		want string // the record's short name, or "" for an error
	}{
		{[]string{"account", "NL66OPEN0000000000"}, "FindBankAccountQuery"},
		{[]string{"accounts", "ann"}, "FindBankAccountsForUserQuery"},
		{[]string{"user", "ann"}, "FindUserQuery"},
		{[]string{"last"}, "AllLastTransactionsQuery"},
		{[]string{"transaction", "7"}, "TransactionByIdQuery"},
		{[]string{"transactions", "NL66OPEN0000000000", "5"}, "TransactionsByIbanQuery"},
		{[]string{"transfer", "bac1d725-d341-5b5e-969a-165acaa56741"}, "TransferByIdQuery"},
		{[]string{"as-of", "NL66OPEN0000000000", "3"}, "AccountAsOfQuery"},
		{[]string{"as-of-time", "NL66OPEN0000000000", "2026-11-23T01:00:00Z"}, "AccountAsOfQuery"},
		{[]string{"audit"}, "AuditLogQuery"},
		{[]string{"audit", "50", "1764252000123000:bank_events:0:41"}, "AuditLogQuery"},
		{[]string{"audit", "many"}, ""},
		{nil, ""},
		{[]string{"account"}, ""},
		{[]string{"transaction", "seven"}, ""},
		{[]string{"transactions", "NL66OPEN0000000000", "many"}, ""},
		{[]string{"transfer", "not-a-uuid"}, ""},
		{[]string{"as-of", "NL66OPEN0000000000", "0"}, ""},
		{[]string{"as-of-time", "NL66OPEN0000000000", "yesterday"}, ""},
		{[]string{"frob"}, ""},
	}
	for _, tt := range tests {
		q, err := parseQuery(tt.args)
		if tt.want == "" {
			if err == nil {
				t.Errorf("%v: accepted", tt.args)
			}
			continue
		}
		if err != nil || topology.ShortName(q.AvroName()) != tt.want {
			t.Errorf("%v: %v, %v", tt.args, q, err)
		}
	}
}

// brokerConnections reads the embedded broker's connection counts from
// the bank's /metrics.
func brokerConnections(t *testing.T, admin string) (tcp, memory float64) {
	t.Helper()
	res, err := http.Get(admin + "metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, line := range strings.Split(string(body), "\n") {
		for via, n := range map[string]*float64{"tcp": &tcp, "memory": &memory} {
			if v, ok := strings.CutPrefix(line, `openbank_broker_connections_total{via="`+via+`"} `); ok {
				if _, err := fmt.Sscan(v, n); err != nil {
					t.Fatalf("metric line %q: %v", line, err)
				}
				found++
			}
		}
	}
	if found != 2 {
		t.Fatalf("/metrics lacks openbank_broker_connections_total:\n%s", body)
	}
	return tcp, memory
}
