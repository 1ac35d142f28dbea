package rule

import (
	"testing"

	"github.com/openbank/bank/schemas"
)

const ann = "NL66OPEN0000000000"

func tx(changedBy, newBalance int64, descr string) *schemas.TransactionHappenedEvent {
	return &schemas.TransactionHappenedEvent{IBAN: ann, ChangedBy: changedBy, NewBalance: newBalance, Description: descr}
}

func TestFires(t *testing.T) {
	cases := []struct {
		name string
		rule Rule
		tx   *schemas.TransactionHappenedEvent
		want string // "" for no alert
	}{
		{"balance drops below", Rule{IBAN: ann, Kind: BalanceBelow, Amount: 10_000}, tx(-5_000, 8_000, "rent"),
			"the balance of NL66OPEN0000000000 dropped below €100,00: it is €80,00"},
		{"balance already below: no second alert", Rule{IBAN: ann, Kind: BalanceBelow, Amount: 10_000}, tx(-1_000, 7_000, "coffee"), ""},
		{"balance lands exactly on the amount", Rule{IBAN: ann, Kind: BalanceBelow, Amount: 10_000}, tx(-5_000, 10_000, "rent"), ""},
		{"balance rises", Rule{IBAN: ann, Kind: BalanceBelow, Amount: 10_000}, tx(5_000, 8_000, "salary"), ""},
		{"incoming above", Rule{IBAN: ann, Kind: IncomingAbove, Amount: 100_000}, tx(250_000, 300_000, "salary"),
			`€2.500,00 came in on NL66OPEN0000000000 ("salary"), more than €1.000,00`},
		{"incoming at the amount", Rule{IBAN: ann, Kind: IncomingAbove, Amount: 100_000}, tx(100_000, 300_000, "salary"), ""},
		{"outgoing is not incoming", Rule{IBAN: ann, Kind: IncomingAbove, Amount: 100}, tx(-250_000, 0, "rent"), ""},
		{"outgoing above", Rule{IBAN: ann, Kind: OutgoingAbove, Amount: 100_000}, tx(-250_000, 50_000, "rent"),
			`€2.500,00 went out of NL66OPEN0000000000 ("rent"), more than €1.000,00`},
		{"incoming is not outgoing", Rule{IBAN: ann, Kind: OutgoingAbove, Amount: 100}, tx(250_000, 300_000, "salary"), ""},
		{"description contains, any case", Rule{IBAN: ann, Kind: DescriptionContains, Word: "Casino"}, tx(-2_000, 1_000, "royal CASINO night"),
			`a transaction on NL66OPEN0000000000 of -€20,00 says "royal CASINO night"`},
		{"description does not contain", Rule{IBAN: ann, Kind: DescriptionContains, Word: "casino"}, tx(-2_000, 1_000, "groceries"), ""},
		{"another account's transaction", Rule{IBAN: "NL91ABNA0417164300", Kind: IncomingAbove, Amount: 0}, tx(5, 5, "x"), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, fired := Fires(tc.rule, tc.tx)
			if fired != (tc.want != "") || got != tc.want {
				t.Fatalf("fired %v %q, want %q", fired, got, tc.want)
			}
		})
	}
}

func TestBook(t *testing.T) {
	b := NewBook()
	b.Add(Rule{ID: "b", IBAN: ann, Kind: IncomingAbove, Amount: 100})
	b.Add(Rule{ID: "a", IBAN: ann, Kind: DescriptionContains, Word: "salary"})
	b.Add(Rule{ID: "c", IBAN: "NL91ABNA0417164300", Kind: IncomingAbove})
	got := b.Triggered(tx(500, 500, "salary"))
	if len(got) != 2 || got[0].Rule.ID != "a" || got[1].Rule.ID != "b" {
		t.Fatalf("triggered %+v, want rules a and b in that order", got)
	}
	b.Add(Rule{ID: "b", IBAN: ann, Kind: IncomingAbove, Amount: 1_000}) // replaced
	if got := b.Triggered(tx(500, 500, "other")); len(got) != 0 {
		t.Fatalf("after replacing b: %+v", got)
	}
	if !b.Remove(ann, "a") || b.Remove(ann, "a") {
		t.Fatal("remove reports wrongly")
	}
	if rules := b.Rules(ann); len(rules) != 1 || rules[0].ID != "b" {
		t.Fatalf("rules left %+v", rules)
	}
	b.Remove(ann, "b")
	if len(b.byIBAN) != 1 {
		t.Errorf("an account without rules is still held: %v", b.byIBAN)
	}
}
