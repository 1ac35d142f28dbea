package commandhandler_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/openbank/bank/bus"
	"github.com/openbank/bank/contract"
	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/services/commandhandler"
	"github.com/openbank/bank/services/commandhandler/domain"
	"github.com/openbank/bank/topology"
	"github.com/openbank/bank/topology/iban"
	"github.com/openbank/bank/topology/kafka"
	"github.com/openbank/bank/topology/kafka/kafkatest"
)

// testToken is every account's token in these tests: tokens travel in
// events only, never in feedback, so the client cannot learn them
// otherwise.
const testToken = "00000000000000004242"

func start(t *testing.T, env *kafkatest.Env, id string) *kafkatest.Service {
	t.Helper()
	return kafkatest.Run(t, "command handler "+id, func(ctx context.Context, ready func()) error {
		return commandhandler.Run(ctx, commandhandler.Config{
			Brokers: env.Brokers, Registry: env.Registry, InstanceID: id, Log: kafkatest.Log(t), OnReady: ready,
			NewToken: func() string { return testToken },
		})
	})
}

func newBus(t *testing.T, env *kafkatest.Env) *bus.Bus {
	t.Helper()
	requests, err := bus.New(context.Background(), env.Brokers, env.Codec(), "test-bus", kafkatest.Log(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(requests.Close)
	return requests
}

// client drives the bank through the bus as a gateway would.
type client struct {
	t        *testing.T
	requests *bus.Bus
}

func (c client) send(cmd schemas.Record) (ok bool, info string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	fb, err := c.requests.Send(ctx, cmd)
	if err != nil {
		c.t.Fatalf("%s: %v", cmd.AvroName(), err)
	}
	return bus.Result(fb)
}

func (c client) user(name string) {
	c.t.Helper()
	if ok, reason := c.send(&schemas.CreateUserAccountCommand{ID: schemas.NewID(), Username: name, Password: "hash-" + name}); !ok {
		c.t.Fatalf("create user %s: %s", name, reason)
	}
}

func (c client) account(owner string) (ibanCode, token string) {
	c.t.Helper()
	ibanCode = iban.New()
	cmd := &schemas.CreateBankAccountCommand{ID: schemas.NewID(), IBAN: ibanCode, Username: owner}
	ok, info := c.send(cmd)
	if !ok {
		c.t.Fatalf("create account: %s", info)
	}
	return ibanCode, testToken
}

func (c client) transfer(id schemas.ID, from, to, tok, user string, amount int64) (bool, string) {
	c.t.Helper()
	return c.send(&schemas.MoneyTransferCommand{ID: id, Token: tok, Amount: amount, From: from, To: to, Description: "test", Username: user})
}

// replay reads every committed event and rebuilds the state from them, as
// a fresh instance would.
func replay(t *testing.T, env *kafkatest.Env) (*domain.State, []schemas.Record) {
	t.Helper()
	s := domain.NewState()
	all := append(env.ReadAll(t, topology.UserEvents), env.ReadAll(t, topology.BankEvents)...)
	for _, rec := range all {
		if err := s.Apply(rec); err != nil {
			t.Fatalf("replay %s: %v", rec.AvroName(), err)
		}
	}
	return s, all
}

func TestCommandsAndTheSagaOverKafka(t *testing.T) {
	env := kafkatest.Synced(t)
	start(t, env, "a")
	c := client{t, newBus(t, env)}

	c.user("ann")
	c.user("bob")
	if ok, reason := c.send(&schemas.CreateUserAccountCommand{ID: schemas.NewID(), Username: "ann", Password: "x"}); ok || reason != contract.UserExists.Text {
		t.Fatalf("duplicate user: %v %q", ok, reason)
	}
	ann, annTok := c.account("ann")
	bob, _ := c.account("bob")
	if ok, reason := c.send(&schemas.CreateBankAccountCommand{ID: schemas.NewID(), IBAN: ann, Username: "bob"}); ok || reason != contract.IBANExists.Text {
		t.Fatalf("duplicate iban: %v %q", ok, reason)
	}
	never := iban.New()

	steps := []struct {
		name       string
		from, to   string
		tok, user  string
		amount     int64
		wantReason string
	}{
		{"cash deposit", domain.Cash, ann, annTok, "ann", 10_000, ""},
		{"anonymous cash deposit", domain.Cash, ann, "", "", 10_000, contract.CashNeedsOwner.Text},
		{"more than the limit", ann, bob, annTok, "ann", 100_000_001, "amount may be at most €1.000.000,00 per transfer"},
		{"MaxInt64 out of the bank", ann, "NL91ABNA0417164300", annTok, "ann", 1<<63 - 1, "amount may be at most €1.000.000,00 per transfer"},
		{"internal transfer", ann, bob, annTok, "ann", 2_500, ""},
		{"wrong token", ann, bob, "00000000000000000000", "ann", 1, contract.NotAuthorized.Text},
		{"not the owner", ann, bob, annTok, "bob", 1, contract.NotAuthorized.Text},
		{"insufficient funds", ann, bob, annTok, "ann", 60_000, "insufficient funds would be below the limit of -€500,00"},
		{"to an outside IBAN", ann, "NL91ABNA0417164300", annTok, "ann", 1_000, ""},
		{"unknown to-account, money returned", ann, never, annTok, "ann", 700, contract.AccountUnknown.Text},
		{"from = to", ann, ann, annTok, "ann", 1, contract.SameFromTo.Text},
		{"invalid from", "NL00OPEN1234567890", bob, annTok, "ann", 1, contract.FromInvalid.Text},
		{"negative amount", bob, ann, annTok, "ann", -500, contract.AmountNotPositive.Text},
	}
	ids := map[string]schemas.ID{}
	for _, s := range steps {
		id := schemas.NewID()
		ids[s.name] = id
		ok, reason := c.transfer(id, s.from, s.to, s.tok, s.user, s.amount)
		if ok != (s.wantReason == "") || (!ok && reason != s.wantReason) {
			t.Errorf("%s: ok=%v reason=%q, want %q", s.name, ok, reason, s.wantReason)
		}
	}
	// A retry with the same uuid answers the first outcome and moves nothing.
	if ok, _ := c.transfer(ids["internal transfer"], ann, bob, annTok, "ann", 2_500); !ok {
		t.Error("retry of a completed transfer did not succeed")
	}
	if ok, reason := c.transfer(ids["wrong token"], ann, bob, "00000000000000000000", "ann", 1); ok || reason != contract.NotAuthorized.Text {
		t.Errorf("retry of a failed transfer: %v %q", ok, reason)
	}

	state, events := replay(t, env)
	if got := state.Accounts[ann].Balance; got != 10_000-2_500-1_000 {
		t.Errorf("ann has %d", got)
	}
	if got := state.Accounts[bob].Balance; got != 2_500 {
		t.Errorf("bob has %d", got)
	}
	debits := 0
	for _, e := range events {
		if d, ok := e.(*schemas.MoneyDebitedEvent); ok && d.ID == ids["internal transfer"] {
			debits++
		}
	}
	if debits != 1 {
		t.Errorf("the retried transfer was debited %d times", debits)
	}
	if st := state.Transfers[ids["unknown to-account, money returned"]]; st.Step != domain.Failed {
		t.Errorf("returned transfer in step %s", st.Step)
	}
}

// A restarted instance takes its partitions back and goes on, also when one
// event topic has no events at all (regression: it waited for one forever).
func TestARestartedInstanceGoesOn(t *testing.T) {
	env := kafkatest.Synced(t)
	a := start(t, env, "a")
	c := client{t, newBus(t, env)}
	first, _ := c.account("ann")
	a.Stop(t)
	start(t, env, "a")
	second, _ := c.account("ann")
	state, _ := replay(t, env)
	if state.Accounts[first] == nil || state.Accounts[second] == nil {
		t.Fatal("an account is missing from the events")
	}
}

// An instance that stops for good hands its partitions to the others once
// its session times out (static members do not leave the group, so that a
// quick restart moves nothing).
func TestPartitionsOfAStoppedInstanceMoveToTheOther(t *testing.T) {
	env := kafkatest.Synced(t)
	start(t, env, "a")
	b := start(t, env, "b")
	c := client{t, newBus(t, env)}
	c.account("ann") // both are working
	b.Stop(t)
	// Enough accounts to land on every partition of bank_commands.
	for range 60 {
		c.account("ann")
	}
}

func TestPoisonInputsAreParkedAndTheConsumerGoesOn(t *testing.T) {
	env := kafkatest.Synced(t)
	start(t, env, "a")
	c := client{t, newBus(t, env)}
	producer, err := sarama.NewSyncProducer(env.Brokers, kafka.ProducerConfig("test-poison"))
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()
	target := iban.New()
	poison := [][]byte{
		[]byte("definitely not avro"),
		{0, 0, 0, 0x7f, 0xff, 1, 2, 3}, // unknown schema id
		{0, 0, 0, 0, 1},                // id of a schema, empty body
		make([]byte, 10),               // zeros
		append([]byte{0}, make([]byte, 4)...),
	}
	for _, v := range poison {
		if _, _, err := producer.SendMessage(&sarama.ProducerMessage{Topic: topology.BankCommands, Key: sarama.StringEncoder(target), Value: sarama.ByteEncoder(v)}); err != nil {
			t.Fatal(err)
		}
	}
	// A query on a command topic: well-formed, but not a command.
	codec := env.Codec()
	value, err := codec.Encode(context.Background(), topology.UserQueries, &schemas.FindUserQuery{ID: schemas.NewID(), Username: "x"})
	if err != nil {
		t.Fatal(err)
	}
	producer.SendMessage(&sarama.ProducerMessage{Topic: topology.BankCommands, Key: sarama.StringEncoder(target), Value: sarama.ByteEncoder(value)})

	// The same partition goes on: a command after the poison is handled.
	cmd := &schemas.CreateBankAccountCommand{ID: schemas.NewID(), IBAN: target, Username: "ann"}
	if ok, reason := c.send(cmd); !ok {
		t.Fatalf("command after poison: %s", reason)
	}
	// The command handler's dead letters (against a real Kafka, other
	// packages' tests park theirs on the same topic).
	letters := env.DeadLetters(t, commandhandler.Group)
	if len(letters) < len(poison)+1 {
		t.Errorf("%d dead letters, want %d", len(letters), len(poison)+1)
	}
	for _, m := range letters {
		h := map[string]string{}
		for _, rh := range m.Headers {
			h[string(rh.Key)] = string(rh.Value)
		}
		if h["origin-topic"] != topology.BankCommands || h["origin-offset"] == "" || h["error"] == "" {
			t.Errorf("dead letter without its origin: %v", h)
		}
	}
}

func TestCompanyAccountOpensOnceAcrossInstancesAndRestarts(t *testing.T) {
	env := kafkatest.Synced(t)
	start(t, env, "a")
	start(t, env, "b")
	requests := newBus(t, env)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- commandhandler.OpenCompanyAccount(ctx, requests, 1_000_000_00, kafkatest.Log(t))
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	state, events := replay(t, env)
	want := int64(1_000_000_00)
	created, credited, amount := 0, 0, int64(0)
	for _, e := range events {
		switch e := e.(type) {
		case *schemas.BankAccountCreatedEvent:
			if e.IBAN == iban.Company {
				created++
			}
		case *schemas.MoneyCreditedEvent:
			if e.IBAN == iban.Company {
				credited, amount = credited+1, e.Amount
			}
		}
	}
	// Against real Kafka another package's test may have opened it first,
	// with its own amount: once is what counts.
	if kafkatest.Real() && created == 1 {
		want = amount
	}
	if created != 1 || credited != 1 || state.Accounts[iban.Company].Balance != want {
		t.Fatalf("company account created %d times, credited %d times, balance %d", created, credited, state.Accounts[iban.Company].Balance)
	}
}

// The property: with two instances, one stopped and restarted in the middle,
// random transfers conserve money (balances sum to the cash deposited minus
// what left the bank), and every balance is what the outcomes the clients
// saw say it is.
func TestMoneyIsConservedWithTwoInstancesAndARestart(t *testing.T) {
	env := kafkatest.Synced(t)
	start(t, env, "a")
	b := start(t, env, "b")
	c := client{t, newBus(t, env)}
	rng := rand.New(rand.NewPCG(7, 11))

	type account struct{ iban, owner, token string }
	var accounts []account
	want := map[string]int64{}
	var deposited int64
	for i := range 8 {
		owner := fmt.Sprintf("user%d", i)
		c.user(owner)
		ib, tok := c.account(owner)
		accounts = append(accounts, account{ib, owner, tok})
		amount := int64(1_000 + rng.IntN(50_000))
		if ok, reason := c.transfer(schemas.NewID(), domain.Cash, ib, tok, owner, amount); !ok {
			t.Fatalf("deposit: %s", reason)
		}
		want[ib] += amount
		deposited += amount
	}

	const transfers = 240
	type outcome struct {
		from, to string
		amount   int64
		ok       bool
	}
	var (
		mu       sync.Mutex
		outcomes []outcome
		left     int64 // money sent outside the bank
	)
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 99))
			for range jobs {
				from := accounts[r.IntN(len(accounts))]
				to := accounts[r.IntN(len(accounts))].iban
				tok, user := from.token, from.owner
				switch r.IntN(10) {
				case 0:
					to = "NL91ABNA0417164300" // leaves the bank
				case 1:
					to = iban.New() // ours, never opened: money returned
				case 2:
					tok = "11111111111111111111"
				}
				amount := int64(1 + r.IntN(20_000))
				id := schemas.NewID()
				var fb schemas.Record
				for attempt := 0; fb == nil; attempt++ {
					ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
					var err error
					fb, err = c.requests.Send(ctx, &schemas.MoneyTransferCommand{ID: id, Token: tok, Amount: amount,
						From: from.iban, To: to, Description: "property", Username: user})
					cancel()
					if errors.Is(err, bus.ErrTimeout) && attempt < 5 {
						continue // a retry with the same id learns the outcome
					}
					if err != nil {
						t.Error(err) // and keep taking jobs, so the sender never blocks
						break
					}
				}
				if fb == nil {
					continue
				}
				_, ok := fb.(*schemas.CommandSucceeded)
				mu.Lock()
				outcomes = append(outcomes, outcome{from.iban, to, amount, ok})
				if ok && to == "NL91ABNA0417164300" {
					left += amount
				}
				mu.Unlock()
			}
		}()
	}
	for i := range transfers {
		switch i {
		case transfers / 3:
			b.Stop(t)
		case 2 * transfers / 3:
			b = start(t, env, "b")
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if t.Failed() {
		return
	}

	for _, o := range outcomes {
		if !o.ok {
			continue
		}
		want[o.from] -= o.amount
		if _, ours := want[o.to]; ours {
			want[o.to] += o.amount
		}
	}
	state, events := replay(t, env)
	var sum int64
	for _, a := range accounts {
		got := state.Accounts[a.iban].Balance
		sum += got
		if got != want[a.iban] {
			t.Errorf("%s holds %d, the outcomes say %d", a.iban, got, want[a.iban])
		}
	}
	if sum != deposited-left {
		t.Errorf("balances sum to %d, deposited %d minus %d sent out = %d", sum, deposited, left, deposited-left)
	}
	ends := map[schemas.ID]int{}
	debits := map[schemas.ID]int{}
	for _, e := range events {
		switch e := e.(type) {
		case *schemas.TransferCompletedEvent:
			ends[e.ID]++
		case *schemas.TransferFailedEvent:
			ends[e.ID]++
		case *schemas.MoneyDebitedEvent:
			debits[e.ID]++
		}
	}
	for id, tr := range state.Transfers {
		if ends[id] != 1 || !tr.Step.Ended() {
			t.Errorf("transfer %s ended %d times, step %s", id, ends[id], tr.Step)
		}
		if debits[id] > 1 {
			t.Errorf("transfer %s debited %d times", id, debits[id])
		}
	}
	if n := len(outcomes); n != transfers {
		t.Errorf("%d of %d transfers answered", n, transfers)
	}
}

// A new instance rebuilds its state and starts consuming however the event
// log ends: after an aborted transaction (whose records and marker are
// never delivered), and while another instance keeps writing events.
func TestRebuildEndsOnAnAbortedTailAndUnderSteadyLoad(t *testing.T) {
	env := kafkatest.Synced(t)
	start(t, env, "a")
	c := client{t, newBus(t, env)}
	user := kafkatest.Unique("ann")
	c.user(user)
	ann, tok := c.account(user)
	if ok, reason := c.transfer(schemas.NewID(), domain.Cash, ann, tok, user, 100_000); !ok {
		t.Fatal(reason)
	}

	// The log now ends in an aborted transaction.
	producer, err := sarama.NewSyncProducer(env.Brokers, kafka.TransactionalConfig("test-aborter", "test-aborter-"+schemas.NewID().String()))
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()
	if err := producer.BeginTxn(); err != nil {
		t.Fatal(err)
	}
	msg, err := kafka.Message(t.Context(), env.Codec(), topology.BankEvents, &schemas.MoneyCreditedEvent{ID: schemas.NewID(), IBAN: ann, Amount: 1 << 40})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := producer.SendMessage(msg); err != nil {
		t.Fatal(err)
	}
	if err := producer.AbortTxn(); err != nil {
		t.Fatal(err)
	}
	b := start(t, env, "b") // kafkatest.Run fails the test if it is not ready within a minute
	b.Stop(t)
	state, _ := replay(t, env)
	if got := state.Accounts[ann].Balance; got != 100_000 {
		t.Fatalf("the aborted credit counted: ann has %d", got)
	}

	// Steady traffic through instance a while b starts again.
	ctx, stop := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	var sent atomic.Int64
	wg.Go(func() {
		for ctx.Err() == nil {
			c.transfer(schemas.NewID(), ann, "NL91ABNA0417164300", tok, user, 1)
			sent.Add(1)
		}
	})
	for sent.Load() < 20 {
		time.Sleep(10 * time.Millisecond)
	}
	begun := time.Now()
	start(t, env, "b")
	rebuilt := time.Since(begun)
	before := sent.Load()
	for sent.Load() < before+20 { // the traffic went on while b rebuilt
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	wg.Wait()
	t.Logf("b rebuilt and consumed after %s under traffic (%d transfers in all)", rebuilt.Round(time.Millisecond), sent.Load())
}
