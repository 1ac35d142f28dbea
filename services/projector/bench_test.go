package projector_test

import (
	"testing"

	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/topology/iban"
	"github.com/openbank/bank/topology/kafka/kafkatest"
)

// BenchmarkQueryRoundTrip asks for an account over Kafka, one query at a
// time: request produced, answered by the projector, answer consumed.
func BenchmarkQueryRoundTrip(b *testing.B) {
	env := kafkatest.Synced(b)
	startHandler(b, env)
	startProjector(b, env)
	c := newClient(b, env)
	acct := iban.New()
	c.must(&schemas.CreateBankAccountCommand{ID: schemas.NewID(), IBAN: acct, Username: "ann"})
	b.ResetTimer()
	for b.Loop() {
		c.must(&schemas.FindBankAccountQuery{ID: schemas.NewID(), IBAN: acct})
	}
}
