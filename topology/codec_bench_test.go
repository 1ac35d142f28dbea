package topology_test

import (
	"context"
	"testing"

	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/topology"
)

func BenchmarkEncodeMoneyTransferCommand(b *testing.B) {
	codec := topology.NewCodec(newRegistry(b))
	ctx := context.Background()
	cmd := &schemas.MoneyTransferCommand{ID: schemas.NewID(), Token: "01234567890123456789", Amount: 12_345,
		From: "NL66OPEN0000000000", To: "NL91ABNA0417164300", Description: "rent", Username: "ann"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := codec.Encode(ctx, topology.BankCommands, cmd); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeMoneyTransferCommand(b *testing.B) {
	codec := topology.NewCodec(newRegistry(b))
	ctx := context.Background()
	value, err := codec.Encode(ctx, topology.BankCommands, &schemas.MoneyTransferCommand{ID: schemas.NewID(),
		Token: "01234567890123456789", Amount: 12_345, From: "NL66OPEN0000000000", To: "NL91ABNA0417164300",
		Description: "rent", Username: "ann"})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := codec.Decode(ctx, topology.BankCommands, value); err != nil {
			b.Fatal(err)
		}
	}
}
