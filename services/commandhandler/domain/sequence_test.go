package domain

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"testing"
	"time"

	"github.com/openbank/bank/contract"
	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/topology/iban"
)

// FuzzCommandSequences plays arbitrary sequences of commands against the
// domain as the command handler would — saga steps delivered in any order,
// some delivered twice, events repeated in the log, the clock moving on —
// and checks after every step that no money was created or lost:
//
//   - the balances, summed exactly (no int64 wrap), plus the money of
//     internal transfers between their debit and credit, equal the cash
//     deposited minus the money sent out of the bank;
//   - no balance is at or below its limit, none wrapped around;
//   - no transfer moves more than the limit (but the genesis deposit), no
//     account takes more cash a day than the daily limit;
//   - a transfer's debit, credit and return each happen at most once, and
//     never both its credit and its return;
//   - every transfer ends at most once and answers one outcome; once the
//     queues are drained, every started transfer has ended;
//   - replaying the applied events on a fresh state gives the same state.
func FuzzCommandSequences(f *testing.F) {
	f.Add([]byte{0, 0, 1, 0, 2, 1, 3, 0, 3, 0, 3, 0})
	f.Add([]byte{0, 1, 1, 1, 2, 0, 0, 9, 2, 2, 3, 3, 1, 3, 0, 2, 0, 3, 5, 7, 3, 4, 6, 1})
	// A MaxInt64 payment out after a first euro (the overflow a reviewer found).
	f.Add([]byte{0, 0, 1, 0, 2, 4, 0, 3, 0, 3, 0, 3, 0, 2, 2, 1, 4, 3, 0, 3, 0, 3, 0, 2, 3, 1, 1, 0, 3, 0, 3, 0})
	f.Fuzz(func(t *testing.T, script []byte) {
		play(t, script[:min(len(script), 4096)]) // long enough for any story; bounded for speed
	})
}

// play runs a script against a fresh bank, checking the invariants after
// every step and at the end.
func play(t *testing.T, script []byte) {
	b := newSimBank(t)
	r := &script
	for len(*r) > 0 {
		b.step(r)
		b.check()
	}
	b.drain()
	b.check()
	b.checkEnded()
	b.checkReplay()
}

// TestMoneyIsConservedOverLongRandomSequences runs the fuzzer's checks
// over 200 long pseudo-random scripts, so plain `go test` explores more
// than the seeds.
func TestMoneyIsConservedOverLongRandomSequences(t *testing.T) {
	for seed := range uint64(200) {
		script := make([]byte, 400)
		x := seed*0x9e3779b97f4a7c15 + 1
		for i := range script {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			script[i] = byte(x)
		}
		t.Run(fmt.Sprint(seed), func(t *testing.T) { play(t, script) })
	}
}

// simBank is one command handler's state with the log and queues around
// it.
type simBank struct {
	t      *testing.T
	s      *State
	env    Env
	now    time.Time
	limits contract.AmountLimits

	users    []string
	accounts []string             // IBANs opened
	tokens   map[[2]string]string // {iban, username} -> token
	log      []schemas.Record     // events applied, in order
	queue    []schemas.Record     // saga commands and step feedback to deliver
	started  []*schemas.MoneyTransferCommand
	inputs   []schemas.Record              // every command decided, to send again
	outcome  map[schemas.ID]schemas.Record // each MoneyTransferCommand's answer
	per      map[schemas.ID]*simMoves      // money steps and ends per transfer
	exact    map[string]*big.Int           // balances, summed without wrapping
	deposits map[string]int64              // cash per "iban day"
	tokenSeq int
}

var (
	simIBANs = []string{iban.Open("0000000011"), iban.Open("0000000012"), iban.Open("0000000013"), iban.Open("0000000014")}
	simNames = []string{"ann", "bob", "Ann", " eve "}
)

func newSimBank(t *testing.T) *simBank {
	b := &simBank{t: t, s: NewState(), now: time.Date(2026, 11, 27, 22, 0, 0, 0, time.UTC),
		limits: contract.AmountLimits{MaxTransfer: 100_000, MaxDeposit: 20_000, MaxDepositsPerDay: 50_000},
		tokens: map[[2]string]string{}, outcome: map[schemas.ID]schemas.Record{},
		per: map[schemas.ID]*simMoves{}, exact: map[string]*big.Int{}, deposits: map[string]int64{}}
	b.env = Env{
		NewToken: func() string { b.tokenSeq++; return fmt.Sprintf("%020d", b.tokenSeq) },
		Now:      func() time.Time { return b.now },
		Limits:   b.limits,
	}
	// The company account and its genesis deposit, far above the limits.
	b.decide(&schemas.CreateUserAccountCommand{ID: CompanyOwnerID, Username: CompanyOwner, Password: NoPassword})
	b.decide(&schemas.CreateBankAccountCommand{ID: schemas.NewID(), IBAN: iban.Company, Username: CompanyOwner})
	b.decide(&schemas.MoneyTransferCommand{ID: GenesisID, Amount: 1 << 40, From: Cash, To: iban.Company, Username: CompanyOwner})
	b.drain()
	return b
}

// pick reads one choice in [0, n) from the script (0 when it is used up).
func pick(r *[]byte, n int) int {
	if len(*r) == 0 || n <= 1 {
		return 0
	}
	v := int((*r)[0]) % n
	*r = (*r)[1:]
	return v
}

func (b *simBank) amount(r *[]byte) int64 {
	l := b.limits
	edges := []int64{0, -1, 1, 2, math.MinInt64, math.MaxInt64, math.MaxInt64 - 1, l.MaxTransfer, l.MaxTransfer + 1,
		l.MaxDeposit, l.MaxDeposit + 1, l.MaxDepositsPerDay, 50_000, 49_999, 1 << 32, -1 << 32, 777, 15_000}
	i := pick(r, len(edges)+1)
	if i < len(edges) {
		return edges[i]
	}
	if len(*r) < 4 {
		return 123
	}
	v := int64(int32(binary.BigEndian.Uint32(*r)))
	*r = (*r)[4:]
	return v
}

func (b *simBank) step(r *[]byte) {
	switch pick(r, 8) {
	case 0: // a user, under a name that may not be in its normal form
		b.decide(&schemas.CreateUserAccountCommand{ID: schemas.NewID(), Username: simNames[pick(r, len(simNames))], Password: "hash"})
	case 1: // an account
		b.decide(&schemas.CreateBankAccountCommand{ID: schemas.NewID(), IBAN: simIBANs[pick(r, len(simIBANs))], Username: b.user(r)})
	case 2: // a transfer, or a repeat of one
		b.transfer(r)
	case 3, 4: // deliver a saga message, sometimes keeping it to deliver again
		b.deliver(pick(r, len(b.queue)+1), pick(r, 4) == 0)
	case 5: // an owner added or leaving
		b.owners(r)
	case 6: // the clock moves on (over UTC midnight, now and then)
		b.now = b.now.Add(time.Duration(pick(r, 30)) * time.Hour)
	case 7: // the log repeats an event, or a command comes again
		if pick(r, 2) == 0 && len(b.log) > 0 {
			b.apply(b.log[pick(r, len(b.log))], true)
		} else if len(b.inputs) > 0 {
			b.decide(b.inputs[pick(r, len(b.inputs))])
		}
	}
}

func (b *simBank) user(r *[]byte) string {
	return contract.NormalizeUsername(simNames[pick(r, len(simNames))])
}

func (b *simBank) transfer(r *[]byte) {
	if len(b.started) > 0 && pick(r, 4) == 0 {
		c := *b.started[pick(r, len(b.started))]
		if pick(r, 2) == 0 {
			c.Amount++ // same id, other content
		}
		b.decide(&c)
		return
	}
	places := append([]string{Cash, "NL91ABNA0417164300", iban.Open("0000000099"), iban.Company}, simIBANs...)
	c := &schemas.MoneyTransferCommand{ID: schemas.NewID(), Amount: b.amount(r),
		From: places[pick(r, len(places))], To: places[pick(r, len(places))], Description: "sim"}
	owner := c.From
	if c.From == Cash {
		owner = c.To
	}
	switch pick(r, 4) {
	case 0, 1: // an owner with the right token, when there is one
		for key, tok := range b.tokens {
			if key[0] == owner {
				c.Username, c.Token = key[1], tok
				break
			}
		}
	case 2:
		c.Username, c.Token = b.user(r), "00000000000000000001"
	case 3:
		c.Teller = true
	}
	b.started = append(b.started, c)
	b.decide(c)
}

func (b *simBank) owners(r *[]byte) {
	var keys [][2]string
	for k := range b.tokens {
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return
	}
	k := keys[pick(r, len(keys))]
	if pick(r, 2) == 0 {
		b.decide(&schemas.AddUserToBankAccountCommand{ID: schemas.NewID(), IBAN: k[0], Username: k[1], Token: b.tokens[k], UserToAdd: b.user(r)})
	} else {
		b.decide(&schemas.RemoveUserFromBankAccountCommand{ID: schemas.NewID(), IBAN: k[0], Username: k[1], Token: b.tokens[k]})
	}
}

// decide handles one input as the handler does: decide, apply the events,
// queue the saga's commands and the steps' feedback.
func (b *simBank) decide(in schemas.Record) {
	b.inputs = append(b.inputs, in)
	d, err := b.s.Decide(in, b.env)
	if err != nil {
		return // the handler parks what cannot be decided
	}
	for _, e := range d.Events {
		if f, ok := e.(*schemas.TransferFailedEvent); ok && (f.Code == "" || !contract.Known(contract.Code(f.Code))) {
			b.t.Fatalf("transfer failed with no known code: %+v", f)
		}
		b.apply(e, false)
	}
	b.queue = append(b.queue, d.Commands...)
	for _, fb := range d.Feedback {
		if f, ok := fb.(*schemas.CommandFailed); ok && !contract.Known(contract.Code(f.Code)) {
			b.t.Fatalf("%s failed with no known code: %+v", f.CommandName, f)
		}
		switch name := commandName(fb); name {
		case moneyTransfer:
			id := fb.RecordID()
			if first, ok := b.outcome[id]; ok && !reflect.DeepEqual(first, fb) {
				// A repeat with other content may be refused; the same
				// transfer never answers two outcomes.
				if f, refused := fb.(*schemas.CommandFailed); !refused || f.Reason != contract.TransferStarted.Text {
					b.t.Fatalf("transfer %s answered %+v, then %+v", id, first, fb)
				}
				continue
			}
			if _, ok := fb.(*schemas.CommandFailed); ok && fb.(*schemas.CommandFailed).Reason == contract.TransferStarted.Text {
				continue
			}
			b.outcome[id] = fb
		case debitMoney, creditMoney, returnMoney:
			b.queue = append(b.queue, fb)
		}
	}
}

func (b *simBank) deliver(i int, keep bool) {
	if i >= len(b.queue) {
		return
	}
	in := b.queue[i]
	if !keep {
		b.queue = append(b.queue[:i], b.queue[i+1:]...)
	}
	b.decide(in)
}

func (b *simBank) drain() {
	for n := 0; len(b.queue) > 0; n++ {
		if n > 10_000 {
			b.t.Fatal("saga messages never run out")
		}
		b.deliver(0, false)
	}
}

// apply applies an event; a repeat from the log must be refused and change
// nothing.
func (b *simBank) apply(e schemas.Record, repeat bool) {
	before := b.balances()
	repeats := b.s.Repeats(e)
	err := b.s.Apply(e)
	if repeats != errors.Is(err, ErrDuplicate) {
		b.t.Fatalf("Repeats(%s) = %v, but Apply said %v", e.AvroName(), repeats, err)
	}
	if repeat {
		switch e.(type) {
		case *schemas.MoneyCreditedEvent, *schemas.MoneyDebitedEvent, *schemas.MoneyReturnedEvent,
			*schemas.TransferStartedEvent, *schemas.TransferCompletedEvent, *schemas.TransferFailedEvent,
			*schemas.UserAccountCreatedEvent, *schemas.BankAccountCreatedEvent, *schemas.UserAddedToBankAccountEvent,
			*schemas.UserRemovedFromBankAccountEvent, *schemas.AlertRuleCreatedEvent, *schemas.AlertRuleDeletedEvent,
			*schemas.PasswordChangedEvent:
			if err == nil {
				b.t.Fatalf("repeated %s applied again", e.AvroName())
			}
			if !reflect.DeepEqual(before, b.balances()) {
				b.t.Fatalf("a refused repeat of %s changed balances", e.AvroName())
			}
		}
		return
	}
	if err != nil {
		b.t.Fatalf("apply decided %s: %v", e.AvroName(), err)
	}
	b.log = append(b.log, e)
	b.record(e)
	switch e := e.(type) {
	case *schemas.BankAccountCreatedEvent:
		b.accounts = append(b.accounts, e.IBAN)
		b.tokens[[2]string{e.IBAN, e.Username}] = e.Token
	case *schemas.UserAddedToBankAccountEvent:
		b.tokens[[2]string{e.IBAN, e.Username}] = e.Token
	case *schemas.UserRemovedFromBankAccountEvent:
		delete(b.tokens, [2]string{e.IBAN, e.Username})
	case *schemas.UserAccountCreatedEvent:
		if !contract.IsNormalUsername(e.Username) {
			b.t.Fatalf("user %q created in a form that is not normal", e.Username)
		}
	}
}

func (b *simBank) balances() map[string]int64 {
	out := map[string]int64{}
	for k, a := range b.s.Accounts {
		out[k] = a.Balance
	}
	return out
}

type simMoves struct{ debit, credit, ret, ends int }

// record adds an applied event to the exact (big.Int) bookkeeping the
// invariants are checked against.
func (b *simBank) record(e schemas.Record) {
	at := func(id schemas.ID) *simMoves {
		if b.per[id] == nil {
			b.per[id] = &simMoves{}
		}
		return b.per[id]
	}
	add := func(iban string, v int64) {
		if b.exact[iban] == nil {
			b.exact[iban] = new(big.Int)
		}
		b.exact[iban].Add(b.exact[iban], big.NewInt(v))
	}
	switch e := e.(type) {
	case *schemas.MoneyDebitedEvent:
		at(e.ID).debit++
		add(e.IBAN, -e.Amount)
	case *schemas.MoneyCreditedEvent:
		at(e.ID).credit++
		add(e.IBAN, e.Amount)
		if e.DepositedAt > 0 {
			b.deposits[fmt.Sprint(e.IBAN, " ", e.DepositedAt/msPerDay)] += e.Amount
		}
	case *schemas.MoneyReturnedEvent:
		at(e.ID).ret++
		add(e.IBAN, e.Amount)
	case *schemas.TransferCompletedEvent:
		at(e.ID).ends++
	case *schemas.TransferFailedEvent:
		at(e.ID).ends++
	}
}

// check checks the invariants over the log applied so far.
func (b *simBank) check() {
	t := b.t
	t.Helper()
	cashIn, sentOut, inFlight, total := new(big.Int), new(big.Int), new(big.Int), new(big.Int)
	for id, m := range b.per {
		if m.debit > 1 || m.credit > 1 || m.ret > 1 || m.ends > 1 || m.credit+m.ret > 1 {
			t.Fatalf("transfer %s: %+v", id, *m)
		}
		tr := b.s.Transfers[id]
		if tr == nil {
			t.Fatalf("money moved for transfer %s, which never started", id)
		}
		amount := big.NewInt(tr.Request.Amount)
		if id != GenesisID && (tr.Request.Amount < 1 || tr.Request.Amount > b.limits.MaxTransfer) && m.debit+m.credit > 0 {
			t.Fatalf("transfer %s moved %d, outside 1..%d", id, tr.Request.Amount, b.limits.MaxTransfer)
		}
		switch {
		case tr.Request.From == Cash:
			cashIn.Add(cashIn, new(big.Int).Mul(amount, big.NewInt(int64(m.credit))))
			if m.debit+m.ret > 0 {
				t.Fatalf("deposit %s debited or returned: %+v", id, *m)
			}
		case !iban.IsOpen(tr.Request.To):
			sentOut.Add(sentOut, new(big.Int).Mul(amount, big.NewInt(int64(m.debit))))
		default:
			inFlight.Add(inFlight, new(big.Int).Mul(amount, big.NewInt(int64(m.debit-m.credit-m.ret))))
			if m.debit-m.credit-m.ret < 0 {
				t.Fatalf("transfer %s credited or returned without a debit: %+v", id, *m)
			}
		}
	}
	for ibanCode, a := range b.s.Accounts {
		want := b.exact[ibanCode]
		if want == nil {
			want = new(big.Int)
		}
		if !want.IsInt64() || want.Int64() != a.Balance {
			t.Fatalf("%s: balance %d, exactly %s (wrapped)", ibanCode, a.Balance, want)
		}
		if a.Balance <= a.Limit {
			t.Fatalf("%s: balance %d at or below its limit %d", ibanCode, a.Balance, a.Limit)
		}
		total.Add(total, want)
	}
	if want := new(big.Int).Sub(cashIn, sentOut); new(big.Int).Add(total, inFlight).Cmp(want) != 0 {
		t.Fatalf("balances %s + in flight %s != cash in %s - sent out %s", total, inFlight, cashIn, sentOut)
	}
	for k, cash := range b.deposits {
		if cash > b.limits.MaxDepositsPerDay {
			t.Fatalf("%s: %d in cash in one day, over the daily limit", k, cash)
		}
	}
}

func (b *simBank) checkEnded() {
	for id, tr := range b.s.Transfers {
		if !tr.Step.Ended() {
			b.t.Fatalf("transfer %s left %s", id, tr.Step)
		}
		if _, ok := b.outcome[id]; !ok {
			b.t.Fatalf("transfer %s ended without an answer", id)
		}
	}
}

func (b *simBank) checkReplay() {
	replayed := NewState()
	for _, e := range b.log {
		if err := replayed.Apply(e); err != nil {
			b.t.Fatalf("replay %s: %v", e.AvroName(), err)
		}
	}
	if !reflect.DeepEqual(replayed, b.s) {
		for k, a := range b.s.Accounts {
			if !reflect.DeepEqual(a, replayed.Accounts[k]) {
				b.t.Errorf("account %s: live %+v, replayed %+v", k, *a, *replayed.Accounts[k])
			}
		}
		for k, u := range b.s.Transfers {
			if !reflect.DeepEqual(u, replayed.Transfers[k]) {
				b.t.Errorf("transfer %s: live %+v, replayed %+v", k, *u, replayed.Transfers[k])
			}
		}
		b.t.Fatal("replaying the log gives another state")
	}
}
