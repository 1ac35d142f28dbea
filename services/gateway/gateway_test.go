package gateway_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/gorilla/websocket"
	"golang.org/x/crypto/bcrypt"

	"github.com/openbank/bank/bus"
	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/services/commandhandler"
	"github.com/openbank/bank/services/gateway"
	"github.com/openbank/bank/services/gateway/session"
	"github.com/openbank/bank/services/projector"
	"github.com/openbank/bank/topology"
	"github.com/openbank/bank/topology/kafka"
	"github.com/openbank/bank/topology/kafka/kafkatest"
)

// stack is the bank on a broker over the network: command handler,
// projector and a gateway behind a real HTTP server.
type stack struct {
	env     *kafkatest.Env
	gw      *gateway.Gateway
	srv     *httptest.Server
	handler *kafkatest.Service
}

func startStack(t testing.TB, configure func(*gateway.Config)) *stack {
	t.Helper()
	env := kafkatest.Synced(t)
	s := &stack{env: env}
	s.handler = startHandler(t, env)
	kafkatest.Run(t, "projector", func(ctx context.Context, ready func()) error {
		return projector.Run(ctx, projector.Config{Brokers: env.Brokers, Registry: env.Registry,
			InstanceID: "p", Log: kafkatest.Log(t), OnReady: ready})
	})
	s.gw, s.srv = startGateway(t, env, configure)
	return s
}

func startHandler(t testing.TB, env *kafkatest.Env) *kafkatest.Service {
	return kafkatest.Run(t, "command handler", func(ctx context.Context, ready func()) error {
		return commandhandler.Run(ctx, commandhandler.Config{Brokers: env.Brokers, Registry: env.Registry,
			InstanceID: "h", Log: kafkatest.Log(t), OnReady: ready})
	})
}

var testKey = []byte("0123456789abcdef0123456789abcdef")

func startGateway(t testing.TB, env *kafkatest.Env, configure func(*gateway.Config)) (*gateway.Gateway, *httptest.Server) {
	t.Helper()
	gw, err := gateway.New(t.Context(), gatewayConfig(t, env, configure), env.Codec())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw.Handler())
	t.Cleanup(func() { srv.Close(); gw.Close() })
	return gw, srv
}

func gatewayConfig(t testing.TB, env *kafkatest.Env, configure func(*gateway.Config)) gateway.Config {
	t.Helper()
	keeper, err := session.New(testKey, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cfg := gateway.Config{Brokers: env.Brokers, Sessions: keeper, HashCost: bcrypt.MinCost, Timeout: 20 * time.Second,
		KeepAlive: time.Second, Log: kafkatest.Log(t), CORSOrigins: []string{"https://frontend.example"},
		EmployeePassword: employeePassword,
		// Every test client is 127.0.0.1: the per-address limits of sign-ups
		// and deposits are tested on their own.
		SignUpsPerClient: 10_000, DepositsPerClient: 10_000}
	if configure != nil {
		configure(&cfg)
	}
	return cfg
}

const employeePassword = "staff only"

// response is a GraphQL response.
type response struct {
	Data   map[string]json.RawMessage `json:"data"`
	Errors []struct {
		Message string `json:"message"`
	} `json:"errors"`
}

func (r response) errs() string {
	var msgs []string
	for _, e := range r.Errors {
		msgs = append(msgs, e.Message)
	}
	return strings.Join(msgs, "; ")
}

// do posts a GraphQL operation to path and decodes the field into out.
func do(t testing.TB, url, session, query string, vars map[string]any) response {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if session != "" {
		req.Header.Set("Authorization", "Bearer "+session)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var r response
	if err := json.NewDecoder(res.Body).Decode(&r); err != nil {
		t.Fatalf("decode response (%s): %v", res.Status, err)
	}
	return r
}

func field[T any](t testing.TB, r response, name string) T {
	t.Helper()
	var v T
	if len(r.Errors) > 0 {
		t.Fatalf("%s: errors: %s", name, r.errs())
	}
	if err := json.Unmarshal(r.Data[name], &v); err != nil {
		t.Fatalf("%s: %v (%s)", name, err, r.Data[name])
	}
	return v
}

type account struct {
	IBAN     string  `json:"iban"`
	Token    string  `json:"token"`
	Reason   *string `json:"reason"`
	Session  string  `json:"session"`
	Username string  `json:"username"`
}

type transferResult struct {
	UUID    string  `json:"uuid"`
	Success *bool   `json:"success"`
	Reason  *string `json:"reason"`
	Status  string  `json:"status"`
}

const getAccount = `mutation($u: String!, $p: String!) { get_account(username: $u, password: $p) { iban token reason session username } }`

const logIn = `mutation($u: String!, $p: String!) { log_in(username: $u, password: $p) { iban token reason session username } }`

const signUp = `mutation($u: String!, $p: String!) { sign_up(username: $u, password: $p) { iban token reason session username } }`

const moneyTransfer = `mutation($uuid: String!, $user: String!, $token: String!, $amount: Int!, $from: String!, $to: String!, $descr: String!) {
  money_transfer(uuid: $uuid, username: $user, token: $token, amount: $amount, from: $from, to: $to, descr: $descr) { uuid success reason status }
}`

func (s *stack) signUp(t testing.TB, name, password string) account {
	t.Helper()
	a := field[account](t, do(t, s.srv.URL+"/graphql", "", getAccount, map[string]any{"u": name, "p": password}), "get_account")
	if a.Reason != nil || a.IBAN == "" || a.Token == "" || a.Session == "" {
		t.Fatalf("get_account %s: %+v", name, a)
	}
	return a
}

// openCompanyAccount opens the company account, as a command handler does
// at its start (the bank's bootstrap, which this stack does not run).
func (s *stack) openCompanyAccount(t testing.TB) {
	t.Helper()
	requests, err := bus.New(t.Context(), s.env.Brokers, s.env.Codec(), "test-bootstrap", kafkatest.Log(t))
	if err != nil {
		t.Fatal(err)
	}
	defer requests.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := commandhandler.OpenCompanyAccount(ctx, requests, 100_000, kafkatest.Log(t)); err != nil {
		t.Fatal(err)
	}
}

// employee logs an employee in and returns the session.
func (s *stack) employee(t testing.TB) string {
	t.Helper()
	e := field[struct{ Session string }](t, do(t, s.srv.URL+"/graphql", "", `mutation($pw: String!) { employee_login(password: $pw) { session reason } }`,
		map[string]any{"pw": employeePassword}), "employee_login")
	if e.Session == "" {
		t.Fatal("no employee session")
	}
	return e.Session
}

func (s *stack) transfer(t testing.TB, uuid, user, token string, amount int, from, to, descr string) transferResult {
	t.Helper()
	return field[transferResult](t, do(t, s.srv.URL+"/graphql", "", moneyTransfer, map[string]any{
		"uuid": uuid, "user": user, "token": token, "amount": amount, "from": from, "to": to, "descr": descr}), "money_transfer")
}

func (s *stack) balance(t *testing.T, a account) int64 {
	t.Helper()
	me := field[struct {
		Accounts []struct {
			IBAN         string `json:"iban"`
			Balance      string `json:"balance"`
			BalanceCents int64  `json:"balance_cents"`
		} `json:"accounts"`
	}](t, do(t, s.srv.URL+"/graphql", a.Session, `{ me { accounts { iban balance balance_cents } } }`, nil), "me")
	for _, acc := range me.Accounts {
		if acc.IBAN == a.IBAN {
			return acc.BalanceCents
		}
	}
	t.Fatalf("%s not among %s's accounts: %+v", a.IBAN, a.Username, me)
	return 0
}

func suffix() string { return schemas.NewID().String()[:8] }

func TestBankingOverHTTP(t *testing.T) {
	s := startStack(t, nil)
	sfx := suffix()
	ann := s.signUp(t, "ann-"+sfx, "ann's secret")
	bob := s.signUp(t, "bob-"+sfx, "bob's secret")
	outside := "NL91ABNA0417164300"

	t.Run("log in", func(t *testing.T) {
		again := s.signUp(t, ann.Username, "ann's secret")
		if again.IBAN != ann.IBAN || again.Token != ann.Token {
			t.Errorf("log in answered %+v, want the account from sign up %+v", again, ann)
		}
		wrong := field[account](t, do(t, s.srv.URL+"/graphql", "", getAccount, map[string]any{"u": ann.Username, "p": "guess"}), "get_account")
		if wrong.Reason == nil || *wrong.Reason != "invalid username or password" || wrong.Token != "" || wrong.Session != "" {
			t.Errorf("wrong password answered %+v", wrong)
		}
		// log_in never signs up: a typo of the username is refused, not a
		// new account, and says what a wrong password says.
		typo := field[account](t, do(t, s.srv.URL+"/graphql", "", logIn, map[string]any{"u": ann.Username + "x", "p": "ann's secret"}), "log_in")
		if typo.Reason == nil || *typo.Reason != "invalid username or password" || typo.IBAN != "" {
			t.Errorf("log_in of a mistyped username answered %+v", typo)
		}
		upper := field[account](t, do(t, s.srv.URL+"/graphql", "", logIn, map[string]any{"u": " " + strings.ToUpper(ann.Username), "p": "ann's secret"}), "log_in")
		if upper.IBAN != ann.IBAN || upper.Username != ann.Username {
			t.Errorf("log_in in upper case answered %+v, want ann", upper)
		}
		taken := field[account](t, do(t, s.srv.URL+"/graphql", "", signUp, map[string]any{"u": ann.Username, "p": "other"}), "sign_up")
		if taken.Reason == nil || *taken.Reason != "username is taken" {
			t.Errorf("sign_up of a taken name answered %+v", taken)
		}
	})

	t.Run("wrong passwords are limited", func(t *testing.T) {
		carl := s.signUp(t, "carl-"+sfx, "carl's secret")
		logIn := func(pw string) account {
			return field[account](t, do(t, s.srv.URL+"/graphql", "", getAccount, map[string]any{"u": carl.Username, "p": pw}), "get_account")
		}
		for i := range 5 { // the default: 5 a minute per username
			if got := logIn("guess"); got.Reason == nil || *got.Reason != "invalid username or password" {
				t.Fatalf("wrong password %d answered %+v", i+1, got)
			}
		}
		got := logIn("carl's secret")
		if got.Reason == nil || !strings.HasPrefix(*got.Reason, "too many failed log-ins: try again in ") || got.Session != "" {
			t.Fatalf("the right password after 5 wrong ones answered %+v, want refused for a while", got)
		}
		if again := s.signUp(t, ann.Username, "ann's secret"); again.IBAN != ann.IBAN {
			t.Errorf("another user from the same client: %+v", again)
		}
	})

	steps := []struct {
		name      string
		user      account
		token     string
		amount    int
		from, to  string
		reason    string // "" for success
		ann, bob  int64  // balances after
		sameUUIDs bool
	}{
		{name: "deposit from cash", user: ann, amount: 10_000, from: "cash", to: ann.IBAN, ann: 10_000},
		{name: "transfer between two accounts", user: ann, amount: 2_500, from: ann.IBAN, to: bob.IBAN, ann: 7_500, bob: 2_500},
		{name: "wrong token", user: ann, token: "12345678901234567890", amount: 100, from: ann.IBAN, to: bob.IBAN,
			reason: "username or token is not valid for this account", ann: 7_500, bob: 2_500},
		{name: "insufficient funds", user: bob, amount: 60_000, from: bob.IBAN, to: ann.IBAN,
			reason: "insufficient funds would be below the limit of -€500,00", ann: 7_500, bob: 2_500},
		{name: "anonymous cash", user: account{}, token: "x", amount: 100, from: "cash", to: ann.IBAN,
			reason: "cash can be deposited only by an owner of the account (username and token) or by an employee", ann: 7_500, bob: 2_500},
		{name: "MaxInt32 out of the bank", user: ann, amount: 1<<31 - 1, from: ann.IBAN, to: outside,
			reason: "amount may be at most €1.000.000,00 per transfer", ann: 7_500, bob: 2_500},
		{name: "to an outside IBAN", user: ann, amount: 1_000, from: ann.IBAN, to: outside, ann: 6_500, bob: 2_500},
		{name: "negative amount", user: ann, amount: -5, from: ann.IBAN, to: bob.IBAN,
			reason: "amount should be positive", ann: 6_500, bob: 2_500},
		{name: "unknown IBAN of ours", user: ann, amount: 100, from: ann.IBAN, to: "NL66OPEN0000000000"[:4] + "OPEN9999999999",
			reason: "to is invalid", ann: 6_500, bob: 2_500},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			token := st.token
			if token == "" {
				token = st.user.Token
			}
			id := schemas.NewID().String()
			for try := range 2 { // the retry with the same uuid answers the same and moves nothing
				r := s.transfer(t, id, st.user.Username, token, st.amount, st.from, st.to, st.name)
				ok := st.reason == ""
				if r.Success == nil || *r.Success != ok || r.UUID != id {
					t.Fatalf("try %d: %+v, want success %v", try, r, ok)
				}
				if !ok && (r.Reason == nil || *r.Reason != st.reason || r.Status != "FAILED") {
					t.Errorf("try %d: reason %v status %s, want %q FAILED", try, deref(r.Reason), r.Status, st.reason)
				}
				if ok && r.Status != "COMPLETED" {
					t.Errorf("try %d: status %s", try, r.Status)
				}
				if a, b := s.balance(t, ann), s.balance(t, bob); a != st.ann || b != st.bob {
					t.Errorf("try %d: balances ann %d bob %d, want %d and %d", try, a, b, st.ann, st.bob)
				}
			}
		})
	}

	t.Run("transfer by uuid", func(t *testing.T) {
		id := schemas.NewID().String()
		s.transfer(t, id, bob.Username, bob.Token, 100, bob.IBAN, ann.IBAN, "lunch")
		tr := field[map[string]any](t, do(t, s.srv.URL+"/graphql", ann.Session, `query($id: String!) { transfer(uuid: $id) { uuid from to amount amount_cents descr status reason } }`,
			map[string]any{"id": id}), "transfer")
		want := map[string]any{"uuid": id, "from": bob.IBAN, "to": ann.IBAN, "amount": "€1,00", "amount_cents": 100.0,
			"descr": "lunch", "status": "COMPLETED", "reason": nil}
		if fmt.Sprint(tr) != fmt.Sprint(want) {
			t.Errorf("transfer = %v, want %v", tr, want)
		}
		unknown := do(t, s.srv.URL+"/graphql", ann.Session, `{ transfer(uuid: "`+schemas.NewID().String()+`") { status } }`, nil)
		if len(unknown.Errors) > 0 || string(unknown.Data["transfer"]) != "null" {
			t.Errorf("unknown transfer: %s %s", unknown.Data["transfer"], unknown.errs())
		}
		if r := do(t, s.srv.URL+"/graphql", "", `query($id: String!) { transfer(uuid: $id) { status } }`, map[string]any{"id": id}); r.errs() != "not your account" {
			t.Errorf("a transfer without a session: %q", r.errs())
		}
	})

	t.Run("history", func(t *testing.T) {
		txs := field[[]map[string]any](t, do(t, s.srv.URL+"/api", ann.Session, `query($iban: String!) { transactions_by_iban(iban: $iban, max_items: 3) { id iban new_balance changed_by from_to descr direction changed_by_cents } }`,
			map[string]any{"iban": ann.IBAN}), "transactions_by_iban")
		if len(txs) != 3 {
			t.Fatalf("%d transactions, want 3: %v", len(txs), txs)
		}
		// Newest first: lunch from bob, the payment out, the transfer to bob.
		newest := txs[0]
		if newest["changed_by"] != "€1,00" || newest["new_balance"] != "€66,00" || newest["from_to"] != bob.IBAN ||
			newest["direction"] != "CREDIT" || newest["descr"] != "lunch" {
			t.Errorf("newest transaction: %v", newest)
		}
		if txs[1]["changed_by"] != "-€10,00" || txs[1]["direction"] != "DEBIT" || txs[1]["from_to"] != outside {
			t.Errorf("payment out: %v", txs[1])
		}
		byID := field[map[string]any](t, do(t, s.srv.URL+"/graphql", ann.Session, `query($id: Int!) { transaction_by_id(id: $id) { id iban descr } }`,
			map[string]any{"id": newest["id"]}), "transaction_by_id")
		if byID["id"] != newest["id"] || byID["descr"] != "lunch" {
			t.Errorf("transaction_by_id: %v", byID)
		}
		for name, session := range map[string]string{"anonymous": "", "another user": bob.Session} {
			r := do(t, s.srv.URL+"/graphql", session, `query($iban: String!) { transactions_by_iban(iban: $iban, max_items: 5) { id } }`, map[string]any{"iban": ann.IBAN})
			if r.errs() != "not your account" {
				t.Errorf("ann's history read by %s: %q", name, r.errs())
			}
		}
		r := do(t, s.srv.URL+"/graphql", ann.Session, `{ transactions_by_iban(iban: "NL91ABNA0417164300", max_items: 5) { id } }`, nil)
		if r.errs() != "not your account" {
			t.Errorf("unknown IBAN: %q", r.errs())
		}
	})

	t.Run("employees only", func(t *testing.T) {
		const last = `{ all_last_transactions { iban changed_by descr } }`
		for _, session := range []string{"", ann.Session} {
			if r := do(t, s.srv.URL+"/graphql", session, last, nil); !strings.HasPrefix(r.errs(), "employees only") {
				t.Errorf("all_last_transactions without an employee session: %q", r.errs())
			}
		}
		const login = `mutation($pw: String!) { employee_login(password: $pw) { session reason } }`
		wrong := field[map[string]any](t, do(t, s.srv.URL+"/graphql", "", login, map[string]any{"pw": "staff"}), "employee_login")
		if wrong["session"] != nil || wrong["reason"] != "invalid password" {
			t.Errorf("a wrong employee password: %v", wrong)
		}
		emp := field[map[string]any](t, do(t, s.srv.URL+"/graphql", "", login, map[string]any{"pw": employeePassword}), "employee_login")
		session, _ := emp["session"].(string)
		txs := field[[]map[string]any](t, do(t, s.srv.URL+"/graphql", session, last, nil), "all_last_transactions")
		seen := map[string]string{}
		for _, tx := range txs {
			seen[tx["iban"].(string)] = tx["descr"].(string)
		}
		if seen[ann.IBAN] != "lunch" || seen[bob.IBAN] != "lunch" {
			t.Errorf("last transactions of ann and bob: %q and %q", seen[ann.IBAN], seen[bob.IBAN])
		}
		if r := do(t, s.srv.URL+"/graphql", session, `{ me { username } }`, nil); !strings.HasPrefix(r.errs(), "not logged in") {
			t.Errorf("an employee's me: %q", r.errs())
		}
	})

	t.Run("several accounts", func(t *testing.T) {
		second := field[account](t, do(t, s.srv.URL+"/graphql", ann.Session, `mutation { open_account { iban token reason } }`, nil), "open_account")
		if second.IBAN == "" || second.IBAN == ann.IBAN || second.Reason != nil {
			t.Fatalf("open_account: %+v", second)
		}
		added := field[map[string]any](t, do(t, s.srv.URL+"/graphql", ann.Session, `mutation($iban: String!, $u: String!) { add_owner(iban: $iban, username: $u) { success reason } }`,
			map[string]any{"iban": second.IBAN, "u": bob.Username}), "add_owner")
		if added["success"] != true {
			t.Fatalf("add_owner: %v", added)
		}
		me := field[map[string]any](t, do(t, s.srv.URL+"/graphql", bob.Session, `{ me { username accounts { iban owners token } } }`, nil), "me")
		accounts := me["accounts"].([]any)
		if len(accounts) != 2 || accounts[1].(map[string]any)["iban"] != second.IBAN || accounts[1].(map[string]any)["token"] == second.Token {
			t.Errorf("bob's accounts after being added: %v", accounts)
		}
		left := field[map[string]any](t, do(t, s.srv.URL+"/graphql", bob.Session, `mutation($iban: String!) { leave_account(iban: $iban) { success reason } }`,
			map[string]any{"iban": second.IBAN}), "leave_account")
		if left["success"] != true {
			t.Fatalf("leave_account: %v", left)
		}
		notOwner := field[map[string]any](t, do(t, s.srv.URL+"/graphql", bob.Session, `mutation($iban: String!) { leave_account(iban: $iban) { success reason } }`,
			map[string]any{"iban": second.IBAN}), "leave_account")
		if notOwner["success"] != false || notOwner["reason"] != "not your account" {
			t.Errorf("leaving twice: %v", notOwner)
		}
		if r := do(t, s.srv.URL+"/graphql", "", `mutation { open_account { iban } }`, nil); !strings.HasPrefix(r.errs(), "not logged in") {
			t.Errorf("open_account without a session: %q", r.errs())
		}
	})
}

func TestATimedOutTransferTellsItsOutcomeLater(t *testing.T) {
	s := startStack(t, nil)
	ann := s.signUp(t, "ann-"+suffix(), "pw")
	_, impatient := startGateway(t, s.env, func(c *gateway.Config) { c.Timeout = 500 * time.Millisecond })
	s.handler.Stop(t) // no answers until it is back

	id := schemas.NewID().String()
	vars := map[string]any{"uuid": id, "user": ann.Username, "token": ann.Token, "amount": 700, "from": "cash", "to": ann.IBAN, "descr": "while down"}
	r := field[transferResult](t, do(t, impatient.URL+"/graphql", "", moneyTransfer, vars), "money_transfer")
	if r.Status != "PENDING" || r.Success != nil || r.Reason == nil || !strings.Contains(*r.Reason, "same uuid") {
		t.Fatalf("without an answer in time: %+v (reason %s)", r, deref(r.Reason))
	}

	s.handler = startHandler(t, s.env)
	r = field[transferResult](t, do(t, s.srv.URL+"/graphql", "", moneyTransfer, vars), "money_transfer")
	if r.Status != "COMPLETED" || r.Success == nil || !*r.Success {
		t.Fatalf("the retry: %+v", r)
	}
	st := field[map[string]any](t, do(t, s.srv.URL+"/graphql", ann.Session, `query($id: String!) { transfer(uuid: $id) { status } }`, map[string]any{"id": id}), "transfer")
	if st["status"] != "COMPLETED" {
		t.Errorf("transfer(uuid) = %v", st)
	}
	if b := s.balance(t, ann); b != 700 {
		t.Errorf("balance %d after a timed-out transfer and its retry, want 700 (once)", b)
	}
}

// wsClient speaks one of the two websocket protocols by hand.
type wsClient struct {
	conn     *websocket.Conn
	protocol string
	msgs     chan map[string]any
	closed   chan error
	noPong   bool          // play a peer that died without closing
	paused   chan struct{} // when set, stop reading after a first result until it closes
}

func dialWS(t *testing.T, url, protocol string, header http.Header, auth string, opts ...func(*wsClient)) (*wsClient, error) {
	t.Helper()
	d := websocket.Dialer{Subprotocols: []string{protocol}, HandshakeTimeout: 5 * time.Second}
	conn, res, err := d.Dial(strings.Replace(url, "http", "ws", 1), header)
	if err != nil {
		if res != nil {
			return nil, fmt.Errorf("%w (%s)", err, res.Status)
		}
		return nil, err
	}
	c := &wsClient{conn: conn, protocol: protocol, msgs: make(chan map[string]any, 100), closed: make(chan error, 1)}
	t.Cleanup(func() { conn.Close() })
	for _, o := range opts {
		o(c)
	}
	go c.read()
	payload := map[string]any{}
	if auth != "" {
		payload["Authorization"] = auth
	}
	c.send(map[string]any{"type": "connection_init", "payload": payload})
	return c, nil
}

// read owns the connection's reads: it answers pings and passes on the rest.
func (c *wsClient) read() {
	for {
		var m map[string]any
		if err := c.conn.ReadJSON(&m); err != nil {
			c.closed <- err
			close(c.msgs)
			return
		}
		switch m["type"] {
		case "ping":
			if !c.noPong {
				c.send(map[string]any{"type": "pong"})
			}
		case "ka", "pong":
		default:
			c.msgs <- m
		}
		if c.paused != nil && m["type"] == "next" {
			<-c.paused // stop reading after the first result
			c.paused = nil
		}
	}
}

func (c *wsClient) send(m map[string]any) { _ = c.conn.WriteJSON(m) }

func (c *wsClient) expect(t *testing.T, typ string) map[string]any {
	t.Helper()
	select {
	case m, ok := <-c.msgs:
		if !ok {
			t.Fatalf("connection closed waiting for %s: %v", typ, <-c.closed)
		}
		if m["type"] != typ {
			t.Fatalf("got %v, want a %s message", m, typ)
		}
		return m
	case <-time.After(20 * time.Second):
		t.Fatalf("no %s message", typ)
	}
	return nil
}

func (c *wsClient) subscribe(t *testing.T, query string, vars map[string]any) {
	t.Helper()
	c.expect(t, "connection_ack")
	typ := "subscribe"
	if c.protocol == "graphql-ws" {
		typ = "start"
	}
	c.send(map[string]any{"id": "1", "type": typ, "payload": map[string]any{"query": query, "variables": vars}})
}

// transactions reads n results and then checks nothing more comes.
func (c *wsClient) transactions(t *testing.T, n int) []string {
	t.Helper()
	typ := "next"
	if c.protocol == "graphql-ws" {
		typ = "data"
	}
	var out []string
	for range n {
		m := c.expect(t, typ)
		out = append(out, describe(m["payload"].(map[string]any)["data"].(map[string]any)["stream_transactions"].(map[string]any)))
	}
	select {
	case m := <-c.msgs:
		t.Errorf("one more than expected: %v", m)
	case <-time.After(500 * time.Millisecond):
	}
	return out
}

func describe(tx map[string]any) string {
	return fmt.Sprintf("%v %v %v %v", tx["iban"], tx["changed_by"], tx["direction"], tx["descr"])
}

const streamTransactions = `subscription($iban: String, $min: Int, $max: Int, $dir: dtype, $descr: String) {
  stream_transactions(iban: $iban, min_amount: $min, max_amount: $max, direction: $dir, descr_includes: $descr) {
    id iban new_balance changed_by from_to descr direction new_balance_cents changed_by_cents
  }
}`

func TestSubscribersGetExactlyTheirTransactions(t *testing.T) {
	s := startStack(t, nil)
	sfx := suffix()
	ann := s.signUp(t, "ann-"+sfx, "pw")
	bob := s.signUp(t, "bob-"+sfx, "pw")

	// Three subscribers, one per protocol client: ann and bob follow their
	// own accounts, an employee every account.
	modern, err := dialWS(t, s.srv.URL+"/graphql", "graphql-transport-ws", nil, "Bearer "+ann.Session)
	if err != nil {
		t.Fatal(err)
	}
	modern.subscribe(t, streamTransactions, map[string]any{"iban": ann.IBAN, "dir": "CREDIT", "min": 1000})
	legacy, err := dialWS(t, s.srv.URL+"/ws", "graphql-ws", nil, "Bearer "+s.employee(t))
	if err != nil {
		t.Fatal(err)
	}
	legacy.subscribe(t, streamTransactions, map[string]any{"descr": "rent-" + sfx})
	node := startNodeSubscriber(t, s.srv.URL+"/graphql", streamTransactions, map[string]any{"iban": bob.IBAN, "max": 2500}, 2, "Bearer "+bob.Session)
	waitFor(t, "three subscribers", func() bool { return s.gw.Subscribers() == 3 })

	// Without a session, or with another's, no account's stream but the
	// company's; without an iban, only an employee's.
	for name, sub := range map[string]struct {
		auth string
		vars map[string]any
	}{
		"anonymous, ann's account": {"", map[string]any{"iban": ann.IBAN}},
		"bob, ann's account":       {"Bearer " + bob.Session, map[string]any{"iban": ann.IBAN}},
		"ann, every account":       {"Bearer " + ann.Session, nil},
	} {
		c, err := dialWS(t, s.srv.URL+"/graphql", "graphql-transport-ws", nil, sub.auth)
		if err != nil {
			t.Fatal(err)
		}
		c.subscribe(t, streamTransactions, sub.vars)
		if m := <-c.msgs; !strings.Contains(fmt.Sprint(m["payload"]), "not your account") &&
			!strings.Contains(fmt.Sprint(m["payload"]), "employees only") {
			t.Errorf("%s: %v", name, m)
		}
		c.conn.Close()
	}

	for _, tr := range []struct {
		from      account
		amount    int
		fromIBAN  string
		to, descr string
	}{
		{ann, 10_000, "cash", ann.IBAN, "salary"},
		{ann, 500, "cash", ann.IBAN, "small"},
		{ann, 2_500, ann.IBAN, bob.IBAN, "RENT-" + strings.ToUpper(sfx) + " march"},
		{bob, 3_000, bob.IBAN, ann.IBAN, "back"},
		{bob, 200, bob.IBAN, ann.IBAN, "coffee"},
	} {
		if r := s.transfer(t, schemas.NewID().String(), tr.from.Username, tr.from.Token, tr.amount, tr.fromIBAN, tr.to, tr.descr); r.Success == nil || !*r.Success {
			t.Fatalf("transfer %s: %+v %s", tr.descr, r, deref(r.Reason))
		}
	}
	rent := "RENT-" + strings.ToUpper(sfx) + " march"
	if got, want := modern.transactions(t, 2), []string{
		ann.IBAN + " €100,00 CREDIT salary", ann.IBAN + " €30,00 CREDIT back",
	}; !slices.Equal(got, want) {
		t.Errorf("graphql-transport-ws subscriber (ann, credit, ≥ €10): %q, want %q", got, want)
	}
	if got, want := legacy.transactions(t, 2), []string{
		ann.IBAN + " -€25,00 DEBIT " + rent, bob.IBAN + " €25,00 CREDIT " + rent,
	}; !equalSets(got, want) {
		t.Errorf("graphql-ws subscriber (descr): %q, want %q", got, want)
	}
	if got, want := node.results(t), []string{
		bob.IBAN + " €25,00 CREDIT " + rent, bob.IBAN + " -€2,00 DEBIT coffee",
	}; !slices.Equal(got, want) {
		t.Errorf("graphql-ws npm client (bob, ≤ €25): %q, want %q", got, want)
	}

	modern.conn.Close()
	legacy.conn.Close()
	waitFor(t, "subscriptions to end with their connections", func() bool { return s.gw.Subscribers() == 0 })
}

// equalSets compares ignoring order: the two sides of a transfer are on
// different partitions.
func equalSets(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

type nodeSubscriber struct {
	cmd    *exec.Cmd
	stdout *bufio.Scanner
	stderr *bytes.Buffer
	n      int
}

// startNodeSubscriber runs web/test/subscribe.mjs: the graphql-ws npm
// client, installed by `make web`.
func startNodeSubscriber(t *testing.T, url, query string, vars map[string]any, n int, auth string) *nodeSubscriber {
	t.Helper()
	script, _ := filepath.Abs("../../web/test/subscribe.mjs")
	if _, err := os.Stat("../../web/node_modules/graphql-ws"); err != nil {
		t.Fatalf("the graphql-ws npm client is not installed: run `make web` (%v)", err)
	}
	v, _ := json.Marshal(vars)
	cmd := exec.CommandContext(t.Context(), "node", script, strings.Replace(url, "http", "ws", 1), query, string(v), fmt.Sprint(n), auth)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	ns := &nodeSubscriber{cmd: cmd, stdout: bufio.NewScanner(out), stderr: &bytes.Buffer{}, n: n}
	cmd.Stderr = ns.stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("node: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return ns
}

func (ns *nodeSubscriber) results(t *testing.T) []string {
	t.Helper()
	var out []string
	for ns.stdout.Scan() {
		var r struct {
			Data struct {
				Tx map[string]any `json:"stream_transactions"`
			} `json:"data"`
		}
		if err := json.Unmarshal(ns.stdout.Bytes(), &r); err != nil {
			t.Fatalf("node subscriber printed %q: %v", ns.stdout.Text(), err)
		}
		out = append(out, describe(r.Data.Tx))
	}
	if err := ns.cmd.Wait(); err != nil || len(out) != ns.n {
		t.Fatalf("node subscriber: %v, %d results; stderr: %s", err, len(out), ns.stderr)
	}
	return out
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

// Garbage on transaction_events is parked and the live feed goes on.
func TestPoisonTransactionEventsAreParked(t *testing.T) {
	s := startStack(t, nil)
	ann := s.signUp(t, "ann-"+suffix(), "pw")
	sub, err := dialWS(t, s.srv.URL+"/graphql", "graphql-transport-ws", nil, "Bearer "+ann.Session)
	if err != nil {
		t.Fatal(err)
	}
	sub.subscribe(t, streamTransactions, map[string]any{"iban": ann.IBAN})
	waitFor(t, "the subscriber", func() bool { return s.gw.Subscribers() == 1 })

	producer, err := sarama.NewSyncProducer(s.env.Brokers, kafka.ProducerConfig("test-poison"))
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()
	p, off, err := producer.SendMessage(&sarama.ProducerMessage{Topic: topology.TransactionEvents, Value: sarama.StringEncoder("garbage")})
	if err != nil {
		t.Fatal(err)
	}
	if r := s.transfer(t, schemas.NewID().String(), ann.Username, ann.Token, 700, "cash", ann.IBAN, "after garbage"); r.Success == nil || !*r.Success {
		t.Fatalf("transfer: %+v", r)
	}
	if got := sub.transactions(t, 1); len(got) != 1 || !strings.HasSuffix(got[0], "after garbage") {
		t.Fatalf("after the garbage the subscriber got %q", got)
	}
	parked := 0
	for _, m := range s.env.DeadLetters(t, gateway.LiveConsumer) {
		if kafkatest.Header(m, "origin-topic") == topology.TransactionEvents &&
			kafkatest.Header(m, "origin-partition") == strconv.Itoa(int(p)) && kafkatest.Header(m, "origin-offset") == strconv.FormatInt(off, 10) {
			parked++
		}
	}
	if parked != 1 {
		t.Fatalf("the garbage was parked %d times, want once", parked)
	}
}

// A log-out on one gateway ends the session on every gateway: each reads
// the revocation from session_events, refuses the session over HTTP and
// closes its websockets with 4401.
func TestALogOutEndsSessionsOnEveryGateway(t *testing.T) {
	s := startStack(t, nil)
	_, other := startGateway(t, s.env, nil)
	ann := s.signUp(t, "ann-"+suffix(), "pw")
	me := func(url, session string) int {
		body, _ := json.Marshal(map[string]any{"query": `{ me { username } }`})
		req, _ := http.NewRequest(http.MethodPost, url+"/graphql", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+session)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if code := me(other.URL, ann.Session); code != http.StatusOK {
		t.Fatalf("the other gateway refused a live session: %d", code)
	}
	ws, err := dialWS(t, other.URL+"/graphql", "graphql-transport-ws", nil, "Bearer "+ann.Session)
	if err != nil {
		t.Fatal(err)
	}
	ws.subscribe(t, streamTransactions, map[string]any{"iban": ann.IBAN})

	start := time.Now()
	out := field[map[string]any](t, do(t, s.srv.URL+"/graphql", ann.Session, `mutation { log_out { success reason } }`, nil), "log_out")
	if out["success"] != true {
		t.Fatalf("log_out: %v", out)
	}
	if code := me(s.srv.URL, ann.Session); code != http.StatusUnauthorized {
		t.Errorf("the gateway that logged out still takes the session: %d", code)
	}
	waitFor(t, "the other gateway to refuse the session", func() bool { return me(other.URL, ann.Session) == http.StatusUnauthorized })
	honoured := time.Since(start)
	if err := closeOf(t, ws); !websocket.IsCloseError(err, 4401) {
		t.Errorf("the other gateway's websocket closed with %v, want 4401", err)
	}
	t.Logf("the other gateway honoured the log-out after %s", honoured.Round(time.Millisecond))
	// A new log-in works on both.
	again := field[account](t, do(t, other.URL+"/graphql", "", logIn, map[string]any{"u": ann.Username, "p": "pw"}), "log_in")
	if again.Session == "" || me(s.srv.URL, again.Session) != http.StatusOK {
		t.Errorf("logging in again: %+v", again)
	}
}
