package domain

import (
	"testing"

	"github.com/openbank/bank/schemas"
)

// BenchmarkDecideTransfer decides a MoneyTransferCommand between two
// accounts (the saga's first step).
func BenchmarkDecideTransfer(b *testing.B) {
	s := NewState()
	s.Apply(&schemas.BankAccountCreatedEvent{IBAN: ibanAnn, Token: "t", Username: "ann"})
	s.Apply(&schemas.BankAccountCreatedEvent{IBAN: ibanBob, Token: "t", Username: "bob"})
	env := Env{NewToken: func() string { return "t" }}
	cmd := &schemas.MoneyTransferCommand{Token: "t", Amount: 1, From: ibanAnn, To: ibanBob, Username: "ann"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		cmd.ID[0], cmd.ID[1], cmd.ID[2] = byte(i), byte(i>>8), byte(i>>16)
		if _, err := s.Decide(cmd, env); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkApplyMoneyMoved applies debit and credit events, as a rebuild does.
func BenchmarkApplyMoneyMoved(b *testing.B) {
	s := NewState()
	s.Apply(&schemas.BankAccountCreatedEvent{IBAN: ibanAnn, Token: "t", Username: "ann"})
	events := []schemas.Record{
		&schemas.MoneyDebitedEvent{IBAN: ibanAnn, Amount: 1},
		&schemas.MoneyCreditedEvent{IBAN: ibanAnn, Amount: 1},
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := s.Apply(events[i%2]); err != nil {
			b.Fatal(err)
		}
	}
}
