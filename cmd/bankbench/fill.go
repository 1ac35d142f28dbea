package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/IBM/sarama"

	"github.com/openbank/bank/contract"
	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/topology"
	"github.com/openbank/bank/topology/iban"
	"github.com/openbank/bank/topology/kafka"
)

// fill writes a history of valid events straight to the event topics, for
// the replay scenario: how fast the command handler and the projector
// rebuild from a long log. It is the one part of bankbench that does not go
// through the API, because a million events through the API would measure
// the API. Every event is one the command handler could have written:
// accounts opened, funded from cash, then transfers between them, each a
// started, debited, credited, completed saga. It is long on purpose: it
// reads top to bottom as the log it writes.
func fill(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bankbench fill", flag.ContinueOnError)
	fs.SetOutput(stderr)
	brokers := fs.String("brokers", "127.0.0.1:9092", "Kafka brokers, comma separated")
	registry := fs.String("schema-registry", "http://127.0.0.1:8081", "Schema Registry URL")
	events := fs.Int("events", 1_000_000, "events to write (at least; the last saga is whole)")
	accounts := fs.Int("accounts", 1000, "accounts the transfers move money between")
	security := kafka.SecurityFlags(fs, os.Getenv) // writes the event topics: the admin principal on a secured cluster
	if err := fs.Parse(args); err != nil {
		return err
	}
	sec, err := security()
	if err != nil {
		return err
	}
	if err := kafka.SetSecurity(sec); err != nil {
		return err
	}
	if *accounts < 2 || *events < 1 {
		return errors.New("--accounts at least 2, --events at least 1")
	}
	reg, err := kafka.RegistryClient(*registry)
	if err != nil {
		return err
	}
	codec := topology.NewCodec(reg)
	cfg := kafka.ProducerConfig("bankbench-fill")
	// Throughput over latency: batch, and let requests pile up.
	cfg.Producer.Flush.Frequency = 5 * time.Millisecond
	cfg.Producer.Flush.Messages = 1000
	cfg.Producer.Return.Successes = false
	producer, err := sarama.NewAsyncProducer(strings.Split(*brokers, ","), cfg)
	if err != nil {
		return fmt.Errorf("producer: %w", err)
	}
	failed := make(chan error, 1)
	go func() {
		for err := range producer.Errors() {
			select {
			case failed <- err:
			default:
			}
		}
	}()

	start := time.Now()
	written := 0
	send := func(rec schemas.Record) error {
		topic, err := topology.TopicOf(rec.AvroName())
		if err != nil {
			return err
		}
		msg, err := kafka.Message(ctx, codec, topic, rec)
		if err != nil {
			return fmt.Errorf("encode %s: %w", rec.AvroName(), err)
		}
		select {
		case producer.Input() <- msg:
		case err := <-failed:
			return fmt.Errorf("produce: %w", err)
		case <-ctx.Done():
			return ctx.Err()
		}
		written++
		if written%100_000 == 0 {
			fmt.Fprintf(stderr, "%d events, %.0f/s\n", written, float64(written)/time.Since(start).Seconds())
		}
		return nil
	}
	const deposit = 1_000_000_00 // per account: transfers of at most €1 never empty one
	ibans := make([]string, *accounts)
	err = func() error {
		for i := range ibans {
			ibans[i] = iban.Open(fmt.Sprintf("9%09d", i+1))
			if err := send(&schemas.BankAccountCreatedEvent{ID: schemas.NewID(), IBAN: ibans[i], Token: fmt.Sprintf("bench-token-%d", i), Username: "bench"}); err != nil {
				return err
			}
			id := schemas.NewID()
			for _, rec := range []schemas.Record{
				&schemas.TransferStartedEvent{ID: id, Amount: deposit, From: contract.Cash, To: ibans[i], Description: "bench deposit", Username: "bench"},
				&schemas.MoneyCreditedEvent{ID: id, IBAN: ibans[i], Amount: deposit},
				&schemas.TransferCompletedEvent{ID: id},
			} {
				if err := send(rec); err != nil {
					return err
				}
			}
		}
		for i := 0; written < *events; i++ {
			from, to := ibans[i%len(ibans)], ibans[(i*7+1)%len(ibans)]
			if from == to {
				to = ibans[(i+1)%len(ibans)]
			}
			amount := int64(1 + i%100)
			id := schemas.NewID()
			for _, rec := range []schemas.Record{
				&schemas.TransferStartedEvent{ID: id, Token: fmt.Sprintf("bench-token-%d", i%len(ibans)), Amount: amount, From: from, To: to, Description: "bench", Username: "bench"},
				&schemas.MoneyDebitedEvent{ID: id, IBAN: from, Amount: amount},
				&schemas.MoneyCreditedEvent{ID: id, IBAN: to, Amount: amount},
				&schemas.TransferCompletedEvent{ID: id},
			} {
				if err := send(rec); err != nil {
					return err
				}
			}
		}
		return nil
	}()
	if cerr := producer.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("flush: %w", cerr)
	}
	if err != nil {
		return err
	}
	select {
	case err := <-failed:
		return fmt.Errorf("produce: %w", err)
	default:
	}
	took := time.Since(start)
	fmt.Fprintf(stdout, "wrote %d events (%d accounts) in %s, %.0f events/s\n", written, *accounts, took.Round(time.Millisecond), float64(written)/took.Seconds())
	return nil
}
