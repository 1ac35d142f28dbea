package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/topology/iban"
)

// The attack suite: the one-command bank, running, attacked over its
// public API the way the review found it could be — each finding of the
// money-safety review is a subtest that fails if the hole comes back.
//
// Clients are told apart by X-Real-IP (the bank runs with
// --client-address-header X-Real-IP, as behind a proxy), so per-address
// limits can be seen from one test process.
func TestAttacks(t *testing.T) {
	skipOnRealKafka(t)
	dir := t.TempDir()
	p := start(t, []string{"CLIENT_ADDRESS_HEADER=X-Real-IP", "BCRYPT_COST=4",
		// Small limits, to reach their edges with little money.
		"MAX_TRANSFER=10000", "MAX_DEPOSIT=5000", "MAX_DEPOSITS_PER_DAY=8000"},
		"--data-dir", dir, "--kafka-port", "0", "--registry-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0")
	web := p.line(t, running)[1]
	waitReady(t, web+"readyz", p)
	gql := web + "graphql"
	sfx := schemas.NewID().String()[:6]

	// Each customer signs up from an address of their own.
	clients := 0
	newClient := func(name string) *attacker {
		clients++
		a := &attacker{t: t, url: gql, addr: fmt.Sprintf("10.1.0.%d", clients)}
		acc := a.signUp(name+"-"+sfx, "right password")
		a.user, a.iban, a.token, a.session = acc.Username, acc.IBAN, acc.Token, acc.Session
		return a
	}
	ann, bob := newClient("ann"), newClient("bob")
	eve := &attacker{t: t, url: gql, addr: "10.66.6.6"}

	t.Run("the overflow transfer and deposit", func(t *testing.T) {
		ann.mustTransfer(t, 100, "cash", ann.iban, "first euro")
		for _, amount := range []any{int64(math.MaxInt64), int64(math.MaxInt32) + 1, "9223372036854775807"} {
			r := ann.do(t, transferOp, transferVars(ann, amount, ann.iban, "NL91ABNA0417164300"))
			if len(r.Errors) == 0 {
				t.Errorf("amount %v was taken: %s", amount, r.Data)
			}
			r = ann.do(t, transferOp, transferVars(ann, amount, "cash", ann.iban))
			if len(r.Errors) == 0 {
				t.Errorf("cash deposit of %v was taken: %s", amount, r.Data)
			}
		}
		if got := ann.transfer(t, math.MaxInt32, ann.iban, "NL91ABNA0417164300"); got.Success || !strings.Contains(got.Reason, "at most") {
			t.Errorf("MaxInt32 out of the bank: %+v", got)
		}
		if b := ann.balance(t); b != 100 {
			t.Errorf("ann holds %d cents after the overflow attempts, want 100", b)
		}
	})

	t.Run("amount edges", func(t *testing.T) {
		for _, tc := range []struct {
			amount   int
			from, to string
			ok       bool
		}{
			{0, ann.iban, bob.iban, false}, {-1, ann.iban, bob.iban, false}, {math.MinInt32, ann.iban, bob.iban, false},
			{1, ann.iban, bob.iban, true}, {10_000, "cash", ann.iban, false}, {5_001, "cash", ann.iban, false},
			{5_000, "cash", ann.iban, true}, {10_001, ann.iban, bob.iban, false}, {10_000, ann.iban, bob.iban, true},
			// 5,000 of today's 8,000 used: 3,001 more is over the day's limit.
			{3_001, "cash", ann.iban, false}, {2_900, "cash", ann.iban, true},
		} {
			got := ann.transfer(t, tc.amount, tc.from, tc.to)
			if got.Success != tc.ok {
				t.Errorf("%d from %s: %+v, want success %v", tc.amount, tc.from, got, tc.ok)
			}
		}
		// 100 + 5,000 + 2,900 in, 1 + 10,000 to bob.
		if b := ann.balance(t); b != 100+5_000+2_900-1-10_000 {
			t.Errorf("ann holds %d", b)
		}
	})

	t.Run("cash from nowhere", func(t *testing.T) {
		for name, a := range map[string]*attacker{"nobody": {t: t, url: gql, addr: "10.9.9.9", user: "nobody", token: "x"},
			"another customer": {t: t, url: gql, addr: eve.addr, user: bob.user, token: bob.token}} {
			got := a.transferAs(t, 500, "cash", ann.iban)
			if got.Success || !strings.Contains(got.Reason, "owner") {
				t.Errorf("%s deposited on ann's account: %+v", name, got)
			}
		}
	})

	t.Run("foreign reads", func(t *testing.T) {
		tx := ann.lastTransaction(t)
		uuid := ann.mustTransfer(t, 1, ann.iban, bob.iban, "seen by whom")
		reads := map[string]struct {
			op   string
			vars map[string]any
		}{
			"transactions_by_iban":           {`query($i: String!) { transactions_by_iban(iban: $i, max_items: 5) { id } }`, map[string]any{"i": ann.iban}},
			"transactions_by_iban (unknown)": {`query($i: String!) { transactions_by_iban(iban: $i, max_items: 5) { id } }`, map[string]any{"i": iban.Open("9999999999")}},
			"transaction_by_id":              {`query($id: Int!) { transaction_by_id(id: $id) { id } }`, map[string]any{"id": tx}},
			"transaction_by_id (unknown)":    {`query($id: Int!) { transaction_by_id(id: $id) { id } }`, map[string]any{"id": 999_999}},
			"transfer":                       {`query($u: String!) { transfer(uuid: $u) { status } }`, map[string]any{"u": uuid}},
			"alert_rules":                    {`query($i: String!) { alert_rules(iban: $i) { id } }`, map[string]any{"i": ann.iban}},
		}
		for name, rd := range reads {
			for who, session := range map[string]string{"anonymous": "", "another customer": eve.signUpSession(t, "eve-"+sfx)} {
				r := (&attacker{t: t, url: gql, addr: eve.addr, session: session}).do(t, rd.op, rd.vars)
				if r.errs() != "not your account" && !(name == "alert_rules" && who == "anonymous" && strings.HasPrefix(r.errs(), "not logged in")) {
					t.Errorf("%s by %s: %s %s", name, who, r.Data, r.errs())
				}
			}
		}
		// The owner reads them all.
		for name, rd := range reads {
			if strings.Contains(name, "unknown") {
				continue
			}
			if r := ann.do(t, rd.op, rd.vars); len(r.Errors) > 0 {
				t.Errorf("%s by its owner: %s", name, r.errs())
			}
		}
		// Streams, over both websocket protocols.
		for _, proto := range []string{"graphql-transport-ws", "graphql-ws"} {
			for name, sub := range map[string]struct {
				session string
				vars    map[string]any
			}{
				"another's account":            {bob.session, map[string]any{"iban": ann.iban}},
				"anonymous, ann's account":     {"", map[string]any{"iban": ann.iban}},
				"anonymous, every account":     {"", nil},
				"a customer, every account":    {bob.session, nil},
				"an account that is not there": {bob.session, map[string]any{"iban": iban.Open("9999999999")}},
			} {
				msg := subscribeOnce(t, web, proto, sub.session, sub.vars)
				if !strings.Contains(msg, "not your account") && !strings.Contains(msg, "employees only") {
					t.Errorf("%s stream (%s): %s", name, proto, msg)
				}
			}
		}
	})

	t.Run("parallel wrong passwords", func(t *testing.T) {
		victim := newClient("vic")
		var wg sync.WaitGroup
		reasons := map[string]int{}
		var mu sync.Mutex
		for range 40 {
			wg.Go(func() {
				r := (&attacker{t: t, url: gql, addr: "10.7.7.7"}).logIn(victim.user, "guess")
				mu.Lock()
				reasons[strings.SplitN(r.Reason, ":", 2)[0]]++
				mu.Unlock()
			})
		}
		wg.Wait()
		if reasons["invalid username or password"] > 5 || reasons["too many failed log-ins"] < 35 {
			t.Errorf("40 parallel wrong passwords from one address: %v; want at most 5 checked", reasons)
		}
		// The owner, elsewhere, still gets in.
		if r := (&attacker{t: t, url: gql, addr: "10.8.8.8"}).logIn(victim.user, "right password"); r.Session == "" {
			t.Errorf("the owner was locked out: %+v", r)
		}
		// One request cannot check many passwords.
		var aliases strings.Builder
		aliases.WriteString("mutation {")
		for i := range 20 {
			fmt.Fprintf(&aliases, ` a%d: log_in(username: %q, password: "guess%d") { reason }`, i, victim.user, i)
		}
		aliases.WriteString(" }")
		if r := eve.do(t, aliases.String(), nil); !strings.Contains(r.errs(), "at most one log_in") {
			t.Errorf("twenty log-ins in one request: %s %s", r.Data, r.errs())
		}
	})

	t.Run("sign-up floods", func(t *testing.T) {
		flood := &attacker{t: t, url: gql, addr: "10.5.5.5"}
		refused := 0
		for i := range 15 {
			r := flood.signUpRaw(fmt.Sprintf("flood-%s-%d", sfx, i), "pw")
			if strings.HasPrefix(r.Reason, "too many sign-ups") {
				refused++
			}
		}
		if refused != 5 {
			t.Errorf("15 sign-ups from one address: %d refused, want 5 (10 a minute)", refused)
		}
		// A mistyped log-in never signs up.
		if r := eve.logIn("Ann-"+sfx+"x", "right password"); r.IBAN != "" || r.Reason != "invalid username or password" {
			t.Errorf("log_in of a typo: %+v", r)
		}
		if r := eve.signUpRaw(" ANN-"+sfx+" ", "other"); r.Reason != "username is taken" {
			t.Errorf("sign_up of ann in other case: %+v", r)
		}
		if r := eve.signUpRaw("openbank", "mine now"); r.Reason != "username is taken" {
			t.Errorf("sign_up as the company's owner: %+v", r)
		}
	})

	t.Run("oversize fields", func(t *testing.T) {
		long := strings.Repeat("é", 141)
		got := ann.transferDescr(t, 1, ann.iban, bob.iban, long)
		if got.Success || !strings.Contains(got.Reason, "140 characters") {
			t.Errorf("141-character description: %+v", got)
		}
		if r := ann.do(t, `query($u: String!) { transfer(uuid: $u) { status } }`, map[string]any{"u": got.UUID}); string(r.Data["transfer"]) != "null" {
			t.Errorf("the refused transfer was stored: %s", r.Data)
		}
		huge := strings.Repeat("x", 10<<20)
		for name, vars := range map[string]map[string]any{
			"username": {"u": huge, "p": "pw"}, "password": {"u": "x", "p": huge},
		} {
			r := eve.doRaw(signUpOp, vars)
			if r.status != http.StatusRequestEntityTooLarge && !strings.Contains(r.errs(), "too large") {
				t.Errorf("10 MB %s: HTTP %d %s", name, r.status, r.errs())
			}
		}
		for name, vars := range map[string]map[string]any{
			"username of 65": {"u": strings.Repeat("a", 65), "p": "pw"}, "password of 73": {"u": "x-" + sfx, "p": strings.Repeat("p", 73)},
		} {
			if r := eve.signUpVars(vars); r.Reason == "" || r.Session != "" {
				t.Errorf("%s: %+v", name, r)
			}
		}
	})

	t.Run("webhooks into the bank's own network", func(t *testing.T) {
		for _, hook := range []string{"http://127.0.0.1:8889/metrics", "http://169.254.169.254/latest/meta-data/",
			"http://localhost/", "http://[::1]/", "http://10.0.0.1/", "http://metadata.google.internal/"} {
			r := ann.do(t, `mutation($i: String!, $w: String!) { create_alert(iban: $i, kind: INCOMING_ABOVE, amount_cents: 1, webhook: $w) { rule { id } reason } }`,
				map[string]any{"i": ann.iban, "w": hook})
			if strings.Contains(string(r.Data["create_alert"]), `"id"`) || !strings.Contains(string(r.Data["create_alert"]), "reason") {
				t.Errorf("a webhook to %s: %s %s", hook, r.Data, r.errs())
			}
		}
	})

	t.Run("a teller deposits, a customer does not become one", func(t *testing.T) {
		emp := &attacker{t: t, url: gql, addr: "10.2.2.2", session: employeeSession(t, gql, dir)}
		before := bob.balance(t)
		got := emp.transferAs(t, 700, "cash", bob.iban)
		if !got.Success || bob.balance(t) != before+700 {
			t.Errorf("teller deposit: %+v, balance %d", got, bob.balance(t))
		}
	})

	t.Run("log out and password change end other sessions", func(t *testing.T) {
		carl := newClient("carl")
		other := carl.logIn(carl.user, "right password").Session // a second device
		ws := dialSession(t, web, other)
		if r := (&attacker{t: t, url: gql, session: other}).do(t, `{ me { username } }`, nil); len(r.Errors) > 0 {
			t.Fatalf("the second session: %s", r.errs())
		}
		start := time.Now()
		if r := carl.do(t, `mutation { log_out { success reason } }`, nil); !strings.Contains(string(r.Data["log_out"]), "true") {
			t.Fatalf("log_out: %s %s", r.Data, r.errs())
		}
		if code := closeCode(t, ws); code != 4401 {
			t.Errorf("the second device's websocket closed with %d, want 4401", code)
		}
		t.Logf("log_out closed the other websocket in %s", time.Since(start).Round(time.Millisecond))
		for _, s := range []string{carl.session, other} {
			if r := (&attacker{t: t, url: gql, session: s}).doRaw(`{ me { username } }`, nil); r.status != http.StatusUnauthorized {
				t.Errorf("a logged-out session: HTTP %d %s", r.status, r.errs())
			}
		}
		// Log in again, on two devices; change the password on one.
		firstLogIn := carl.logIn(carl.user, "right password")
		first := firstLogIn.Session
		second := carl.logIn(carl.user, "right password").Session
		if first == "" || second == "" {
			t.Fatalf("log in after log out: %+v", firstLogIn)
		}
		ws = dialSession(t, web, second)
		var res struct{ Session, Reason *string }
		r := (&attacker{t: t, url: gql, session: first}).do(t, `mutation { change_password(old_password: "right password", new_password: "new one") { session reason } }`, nil)
		json.Unmarshal(r.Data["change_password"], &res)
		if res.Session == nil {
			t.Fatalf("change_password: %s %s", r.Data, r.errs())
		}
		if code := closeCode(t, ws); code != 4401 {
			t.Errorf("after a password change the other websocket closed with %d, want 4401", code)
		}
		if r := (&attacker{t: t, url: gql, session: *res.Session}).do(t, `{ me { username } }`, nil); len(r.Errors) > 0 {
			t.Errorf("the session answered by change_password: %s", r.errs())
		}
		if r := carl.logIn(carl.user, "right password"); r.Session != "" {
			t.Error("the old password still logs in")
		}
		if r := carl.logIn(carl.user, "new one"); r.Session == "" {
			t.Errorf("the new password: %+v", r)
		}
	})

	t.Run("an owner who leaves gets no alert", func(t *testing.T) {
		dora := newClient("dora")
		second, token := dora.openAccount(t)
		dora.addOwner(t, second, ann.user)
		ann.createAlert(t, second)
		ws := dialSession(t, web, ann.session)
		subscribeOn(t, ws, `subscription { alerts { message } }`, nil)
		if r := ann.do(t, `mutation($i: String!) { leave_account(iban: $i) { success reason } }`, map[string]any{"i": second}); !strings.Contains(string(r.Data["leave_account"]), "true") {
			t.Fatalf("leave_account: %s %s", r.Data, r.errs())
		}
		doraSecond := *dora
		doraSecond.token = token
		doraSecond.mustTransfer(t, 3_000, "cash", second, "after ann left")
		if msg, ok := readOne(ws, 3*time.Second); ok {
			t.Errorf("ann got an alert about an account she left: %s", msg)
		}
		if r := dora.do(t, `query($i: String!) { alert_rules(iban: $i) { id } }`, map[string]any{"i": second}); string(r.Data["alert_rules"]) != "[]" {
			t.Errorf("ann's rule outlived her ownership: %s %s", r.Data, r.errs())
		}
	})

	p.stop(t)
}

// attacker is a GraphQL client from one address.
type attacker struct {
	t                          *testing.T
	url, addr                  string
	user, iban, token, session string
}

type gqlResponse struct {
	Data   map[string]json.RawMessage `json:"data"`
	Errors []struct {
		Message string `json:"message"`
	} `json:"errors"`
	status int
}

func (r gqlResponse) errs() string {
	var msgs []string
	for _, e := range r.Errors {
		msgs = append(msgs, e.Message)
	}
	return strings.Join(msgs, "; ")
}

func (a *attacker) doRaw(query string, vars map[string]any) gqlResponse {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, a.url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if a.addr != "" {
		req.Header.Set("X-Real-IP", a.addr)
	}
	if a.session != "" {
		req.Header.Set("Authorization", "Bearer "+a.session)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer res.Body.Close()
	var r gqlResponse
	_ = json.NewDecoder(res.Body).Decode(&r)
	r.status = res.StatusCode
	return r
}

func (a *attacker) do(t *testing.T, query string, vars map[string]any) gqlResponse {
	t.Helper()
	return a.doRaw(query, vars)
}

type accountAnswer struct {
	IBAN, Token, Session, Username, Reason string
}

const signUpOp = `mutation($u: String!, $p: String!) { sign_up(username: $u, password: $p) { iban token session username reason } }`

func (a *attacker) signUpVars(vars map[string]any) accountAnswer {
	r := a.doRaw(signUpOp, vars)
	var out struct{ IBAN, Token, Session, Username, Reason *string }
	json.Unmarshal(r.Data["sign_up"], &out)
	return accountAnswer{deref(out.IBAN), deref(out.Token), deref(out.Session), deref(out.Username), deref(out.Reason)}
}

func (a *attacker) signUpRaw(user, password string) accountAnswer {
	return a.signUpVars(map[string]any{"u": user, "p": password})
}

func (a *attacker) signUp(user, password string) accountAnswer {
	acc := a.signUpRaw(user, password)
	if acc.Session == "" {
		a.t.Fatalf("sign_up %s: %+v", user, acc)
	}
	return acc
}

func (a *attacker) signUpSession(t *testing.T, user string) string {
	if a.session == "" {
		acc := a.signUp(user, "pw")
		a.user, a.iban, a.token, a.session = acc.Username, acc.IBAN, acc.Token, acc.Session
	}
	return a.session
}

func (a *attacker) logIn(user, password string) accountAnswer {
	anon := *a // logging in needs no session: a revoked one would be refused
	anon.session = ""
	r := anon.doRaw(`mutation($u: String!, $p: String!) { log_in(username: $u, password: $p) { iban token session username reason } }`,
		map[string]any{"u": user, "p": password})
	var out struct{ IBAN, Token, Session, Username, Reason *string }
	json.Unmarshal(r.Data["log_in"], &out)
	return accountAnswer{deref(out.IBAN), deref(out.Token), deref(out.Session), deref(out.Username), deref(out.Reason)}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

const transferOp = `mutation($uuid: String!, $user: String!, $token: String!, $amount: Int!, $from: String!, $to: String!, $descr: String!) {
  money_transfer(uuid: $uuid, username: $user, token: $token, amount: $amount, from: $from, to: $to, descr: $descr) { uuid success reason status } }`

func transferVars(a *attacker, amount any, from, to string) map[string]any {
	return map[string]any{"uuid": schemas.NewID().String(), "user": a.user, "token": a.token, "amount": amount,
		"from": from, "to": to, "descr": "attack"}
}

type transferAnswer struct {
	UUID    string
	Success bool
	Reason  string
}

func (a *attacker) transferDescr(t *testing.T, amount int, from, to, descr string) transferAnswer {
	t.Helper()
	vars := transferVars(a, amount, from, to)
	vars["descr"] = descr
	for try := 0; ; try++ {
		r := a.do(t, transferOp, vars)
		var out struct {
			UUID    string
			Success *bool
			Reason  *string
			Status  string
		}
		if err := json.Unmarshal(r.Data["money_transfer"], &out); err != nil || len(r.Errors) > 0 {
			t.Fatalf("money_transfer: %s %s", r.Data, r.errs())
		}
		if out.Status == "PENDING" && try < 10 {
			time.Sleep(time.Second) // the same uuid again: the real outcome, never a second transfer
			continue
		}
		return transferAnswer{out.UUID, out.Success != nil && *out.Success, deref(out.Reason)}
	}
}

func (a *attacker) transfer(t *testing.T, amount int, from, to string) transferAnswer {
	t.Helper()
	return a.transferDescr(t, amount, from, to, "attack")
}

func (a *attacker) transferAs(t *testing.T, amount int, from, to string) transferAnswer {
	t.Helper()
	return a.transfer(t, amount, from, to)
}

func (a *attacker) mustTransfer(t *testing.T, amount int, from, to, descr string) string {
	t.Helper()
	got := a.transferDescr(t, amount, from, to, descr)
	if !got.Success {
		t.Fatalf("transfer %d %s→%s: %s", amount, from, to, got.Reason)
	}
	return got.UUID
}

func (a *attacker) balance(t *testing.T) int64 {
	t.Helper()
	r := a.do(t, `{ me { accounts { iban balance_cents } } }`, nil)
	var me struct {
		Accounts []struct {
			IBAN    string `json:"iban"`
			Balance int64  `json:"balance_cents"`
		}
	}
	json.Unmarshal(r.Data["me"], &me)
	for _, acc := range me.Accounts {
		if acc.IBAN == a.iban {
			return acc.Balance
		}
	}
	t.Fatalf("no balance of %s: %s %s", a.iban, r.Data, r.errs())
	return 0
}

func (a *attacker) lastTransaction(t *testing.T) int {
	t.Helper()
	r := a.do(t, `query($i: String!) { transactions_by_iban(iban: $i, max_items: 1) { id } }`, map[string]any{"i": a.iban})
	var txs []struct{ ID int }
	json.Unmarshal(r.Data["transactions_by_iban"], &txs)
	if len(txs) != 1 {
		t.Fatalf("no transaction of %s: %s %s", a.iban, r.Data, r.errs())
	}
	return txs[0].ID
}

func (a *attacker) openAccount(t *testing.T) (iban, token string) {
	t.Helper()
	r := a.do(t, `mutation { open_account { iban token reason } }`, nil)
	var out struct{ IBAN, Token string }
	json.Unmarshal(r.Data["open_account"], &out)
	if out.IBAN == "" {
		t.Fatalf("open_account: %s %s", r.Data, r.errs())
	}
	return out.IBAN, out.Token
}

func (a *attacker) addOwner(t *testing.T, account, user string) {
	t.Helper()
	r := a.do(t, `mutation($i: String!, $u: String!) { add_owner(iban: $i, username: $u) { success reason } }`, map[string]any{"i": account, "u": user})
	if !strings.Contains(string(r.Data["add_owner"]), "true") {
		t.Fatalf("add_owner: %s %s", r.Data, r.errs())
	}
}

func (a *attacker) createAlert(t *testing.T, account string) {
	t.Helper()
	r := a.do(t, `mutation($i: String!) { create_alert(iban: $i, kind: INCOMING_ABOVE, amount_cents: 1) { rule { id } reason } }`, map[string]any{"i": account})
	if !strings.Contains(string(r.Data["create_alert"]), `"id"`) {
		t.Fatalf("create_alert: %s %s", r.Data, r.errs())
	}
}

// employeeSession logs in with the credential the bank generated.
func employeeSession(t *testing.T, gql, dataDir string) string {
	t.Helper()
	pw, _, err := employeePassword(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	r := (&attacker{t: t, url: gql, addr: "10.3.3.3"}).do(t, `mutation($p: String!) { employee_login(password: $p) { session reason } }`, map[string]any{"p": pw})
	var out struct{ Session string }
	json.Unmarshal(r.Data["employee_login"], &out)
	if out.Session == "" {
		t.Fatalf("employee_login: %s %s", r.Data, r.errs())
	}
	return out.Session
}

// dialSession opens a graphql-transport-ws connection with a session.
func dialSession(t *testing.T, web, session string) *websocket.Conn {
	t.Helper()
	return dialProto(t, web, "graphql-transport-ws", session)
}

func dialProto(t *testing.T, web, proto, session string) *websocket.Conn {
	t.Helper()
	d := websocket.Dialer{Subprotocols: []string{proto}}
	c, _, err := d.Dial(strings.Replace(web, "http", "ws", 1)+"graphql", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	payload := map[string]any{}
	if session != "" {
		payload["Authorization"] = "Bearer " + session
	}
	init := "connection_init"
	c.WriteJSON(map[string]any{"type": init, "payload": payload})
	var ack map[string]any
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	if err := c.ReadJSON(&ack); err != nil || ack["type"] != "connection_ack" {
		t.Fatalf("no connection_ack: %v %v", err, ack)
	}
	return c
}

func subscribeOn(t *testing.T, c *websocket.Conn, query string, vars map[string]any) {
	t.Helper()
	typ := "subscribe"
	if c.Subprotocol() == "graphql-ws" {
		typ = "start"
	}
	if err := c.WriteJSON(map[string]any{"id": "1", "type": typ, "payload": map[string]any{"query": query, "variables": vars}}); err != nil {
		t.Fatal(err)
	}
}

// readOne reads the next message that is not a keep-alive, within wait.
func readOne(c *websocket.Conn, wait time.Duration) (string, bool) {
	c.SetReadDeadline(time.Now().Add(wait))
	for {
		var m map[string]any
		if err := c.ReadJSON(&m); err != nil {
			return err.Error(), false
		}
		switch m["type"] {
		case "ka", "ping", "pong":
			continue
		}
		b, _ := json.Marshal(m)
		return string(b), true
	}
}

// subscribeOnce subscribes to stream_transactions and returns the first
// answer.
func subscribeOnce(t *testing.T, web, proto, session string, vars map[string]any) string {
	t.Helper()
	c := dialProto(t, web, proto, session)
	subscribeOn(t, c, `subscription($iban: String) { stream_transactions(iban: $iban) { id } }`, vars)
	msg, _ := readOne(c, 20*time.Second)
	return msg
}

// closeCode waits for the server to close the connection and returns its
// close code.
func closeCode(t *testing.T, c *websocket.Conn) int {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	for {
		if _, _, err := c.NextReader(); err != nil {
			var ce *websocket.CloseError
			if ok := asCloseError(err, &ce); ok {
				return ce.Code
			}
			t.Fatalf("the connection ended without a close frame: %v", err)
		}
	}
}

func asCloseError(err error, ce **websocket.CloseError) bool {
	c, ok := err.(*websocket.CloseError)
	if ok {
		*ce = c
	}
	return ok
}
