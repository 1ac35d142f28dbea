package graph

import (
	"testing"

	"github.com/openbank/bank/graph/model"
	"github.com/openbank/bank/schemas"
)

// BenchmarkFilterMatch is the fan-out's per-subscriber cost of deciding
// whether a transaction goes to a subscriber with every filter set.
func BenchmarkFilterMatch(b *testing.B) {
	iban, min, max, dir, descr := "NL42OPEN5126901870", 100, 100_000, model.DtypeCredit, "Rent"
	match := NewFilter(&iban, &min, &max, &dir, &descr).Match
	hit := Transaction(&schemas.TransactionHappenedEvent{IBAN: iban, ChangedBy: 2_500, Description: "rent march"})
	miss := Transaction(&schemas.TransactionHappenedEvent{IBAN: "NL91OPEN0000000001", ChangedBy: 2_500, Description: "rent march"})
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		t := miss
		if i%2 == 0 {
			t = hit
		}
		if match(t) != (t == hit) {
			b.Fatal("wrong match")
		}
	}
}
