package topology_test

import (
	"context"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/linkedin/goavro/v2"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/schemas/schematest"
	"github.com/openbank/bank/topology"
)

// countingRegistry counts registry calls, to prove the codec caches.
type countingRegistry struct {
	*sr.Client
	lookups, byID atomic.Int64
}

func (c *countingRegistry) LookupSchema(ctx context.Context, subject string, s sr.Schema) (sr.SubjectSchema, error) {
	c.lookups.Add(1)
	return c.Client.LookupSchema(ctx, subject, s)
}

func (c *countingRegistry) SchemaByID(ctx context.Context, id int) (sr.Schema, error) {
	c.byID.Add(1)
	return c.Client.SchemaByID(ctx, id)
}

// newRegistry starts an HTTP schema registry with every subject of the
// topology registered.
func newRegistry(t testing.TB) *countingRegistry {
	t.Helper()
	fake := srfake.New()
	t.Cleanup(fake.Close)
	cl, err := sr.NewClient(sr.URLs(fake.URL()))
	if err != nil {
		t.Fatal(err)
	}
	for _, tp := range topology.Topics {
		for _, rec := range tp.Records {
			text, err := schemas.Compose(rec)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := cl.CreateSchema(context.Background(), topology.Subject(tp.Name, rec), sr.Schema{Schema: text}); err != nil {
				t.Fatal(err)
			}
		}
	}
	return &countingRegistry{Client: cl}
}

func TestTopologyMatchesSchemas(t *testing.T) {
	if err := topology.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestRoundTripEveryRecordOnEveryTopic(t *testing.T) {
	reg := newRegistry(t)
	codec := topology.NewCodec(reg)
	ctx := context.Background()
	n := 0
	for _, tp := range topology.Topics {
		for _, name := range tp.Records {
			in, _ := schemas.New(name)
			schematest.Fill(in, n)
			for range 3 { // later rounds come from the cache
				b, err := codec.Encode(ctx, tp.Name, in)
				if err != nil {
					t.Fatalf("encode %s on %s: %v", name, tp.Name, err)
				}
				if b[0] != 0 {
					t.Fatalf("magic byte %d", b[0])
				}
				out, err := codec.Decode(ctx, tp.Name, b)
				if err != nil {
					t.Fatalf("decode %s on %s: %v", name, tp.Name, err)
				}
				if !reflect.DeepEqual(in, out) {
					t.Fatalf("%s changed:\n in %+v\nout %+v", name, in, out)
				}
			}
			n++
		}
	}
	if got := reg.lookups.Load(); got != int64(n) {
		t.Errorf("%d registry lookups for %d subjects: the codec does not cache", got, n)
	}
	if got := reg.byID.Load(); got > int64(n) {
		t.Errorf("%d schema fetches for %d schemas: the codec does not cache", got, n)
	}
}

func TestEncodeRefusesRecordOnWrongTopic(t *testing.T) {
	codec := topology.NewCodec(newRegistry(t))
	_, err := codec.Encode(context.Background(), topology.BankEvents, &schemas.FindUserQuery{})
	if !errors.Is(err, topology.ErrUnexpectedRecord) {
		t.Fatalf("got %v", err)
	}
}

func TestEncodeWithoutRegisteredSchemaSaysSo(t *testing.T) {
	fake := srfake.New()
	defer fake.Close()
	cl, _ := sr.NewClient(sr.URLs(fake.URL()))
	_, err := topology.NewCodec(cl).Encode(context.Background(), topology.UserEvents, &schemas.UserAccountCreatedEvent{})
	if err == nil || !strings.Contains(err.Error(), "bank sync") {
		t.Fatalf("got %v", err)
	}
}

func TestDecodeRejectsGarbage(t *testing.T) {
	reg := newRegistry(t)
	codec := topology.NewCodec(reg)
	ctx := context.Background()
	good, err := codec.Encode(ctx, topology.BankEvents, &schemas.TransferStartedEvent{ID: schemas.NewID(), Amount: 1, From: "cash", To: "NL66OPEN0000000000"})
	if err != nil {
		t.Fatal(err)
	}
	withID := func(id uint32) []byte {
		b := append([]byte(nil), good...)
		binary.BigEndian.PutUint32(b[1:5], id)
		return b
	}
	// The id of a record that exists but belongs on another topic.
	queryBytes, err := codec.Encode(ctx, topology.UserQueries, &schemas.FindUserQuery{ID: schemas.NewID(), Username: "x"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		value []byte
		want  error
	}{
		{"empty", nil, topology.ErrMalformed},
		{"shorter than the header", []byte{0, 0, 0}, topology.ErrMalformed},
		{"wrong magic byte", append([]byte{1}, good[1:]...), topology.ErrMalformed},
		{"truncated body", good[:len(good)-3], topology.ErrMalformed},
		{"trailing bytes", append(append([]byte(nil), good...), 7, 7), topology.ErrMalformed},
		{"header only", good[:5], topology.ErrMalformed},
		{"unknown schema id", withID(99999), topology.ErrUnknownSchema},
		{"record of another topic", queryBytes, topology.ErrUnexpectedRecord},
		{"text", []byte("hello, this is not avro"), topology.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := codec.Decode(ctx, topology.BankEvents, tt.value)
			if !errors.Is(err, tt.want) || !topology.IsPoison(err) {
				t.Fatalf("Decode = %v, %v; want %v", r, err, tt.want)
			}
		})
	}
}

func TestDecodeUnknownRecordType(t *testing.T) {
	reg := newRegistry(t)
	// Another producer registered a record this build does not know.
	foreign := `{"type":"record","name":"Alien","namespace":"org.elsewhere","fields":[{"name":"x","type":"string"}]}`
	ss, err := reg.CreateSchema(context.Background(), "bank_events-org.elsewhere.Alien", sr.Schema{Schema: foreign})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := goavro.NewCodec(foreign)
	body, _ := c.BinaryFromNative(nil, map[string]any{"x": "hi"})
	value := binary.BigEndian.AppendUint32([]byte{0}, uint32(ss.ID))
	value = append(value, body...)
	_, err = topology.NewCodec(reg).Decode(context.Background(), topology.BankEvents, value)
	if !errors.Is(err, topology.ErrUnexpectedRecord) {
		t.Fatalf("got %v", err)
	}
}

func TestDecodeOlderSchemaVersionFillsDefaults(t *testing.T) {
	reg := newRegistry(t)
	// Version 1 of CommandSucceeded, before additional_info existed.
	old := `{"type":"record","name":"CommandSucceeded","namespace":"nl.openbank.data","fields":[` +
		`{"name":"id","type":{"type":"fixed","name":"Id","size":16}},{"name":"command_name","type":"string"}]}`
	ss, err := reg.CreateSchema(context.Background(), "old-CommandSucceeded", sr.Schema{Schema: old})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := goavro.NewCodec(old)
	id := schemas.NewID()
	body, _ := c.BinaryFromNative(nil, map[string]any{"id": id[:], "command_name": "Create"})
	value := append(binary.BigEndian.AppendUint32([]byte{0}, uint32(ss.ID)), body...)
	rec, err := topology.NewCodec(reg).Decode(context.Background(), topology.UserCommandFeedback, value)
	if err != nil {
		t.Fatal(err)
	}
	got := rec.(*schemas.CommandSucceeded)
	if got.ID != id || got.CommandName != "Create" || got.AdditionalInfo != nil {
		t.Fatalf("got %+v", got)
	}
}

func TestDecodeRandomBytesNeverPanics(t *testing.T) {
	codec := topology.NewCodec(newRegistry(t))
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		b := make([]byte, rng.IntN(64))
		for i := range b {
			b[i] = byte(rng.UintN(256))
		}
		if rng.IntN(2) == 0 && len(b) >= 5 {
			b[0] = 0
			binary.BigEndian.PutUint32(b[1:5], uint32(1+rng.IntN(40)))
		}
		if _, err := codec.Decode(context.Background(), topology.BankEvents, b); err == nil {
			// Random bytes can form a valid record; that is fine, but
			// it must then be a record of this topic.
			continue
		} else if !topology.IsPoison(err) {
			t.Fatalf("random bytes gave a non-poison error: %v", err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	reg := newRegistry(f)
	codec := topology.NewCodec(reg)
	ctx := context.Background()
	for i, r := range schemas.All() {
		schematest.Fill(r, i)
		for _, tp := range topology.Topics {
			if topology.Carries(tp.Name, r.AvroName()) {
				b, err := codec.Encode(ctx, tp.Name, r)
				if err != nil {
					f.Fatal(err)
				}
				f.Add(b)
				break
			}
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, tp := range []string{topology.BankEvents, topology.BankCommands, topology.TransactionEvents} {
			rec, err := codec.Decode(ctx, tp, b)
			if err != nil {
				if !topology.IsPoison(err) {
					t.Fatalf("non-poison error for bad bytes: %v", err)
				}
				continue
			}
			// Whatever decodes must encode back to a record that decodes
			// to the same value.
			again, err := codec.Encode(ctx, tp, rec)
			if err != nil {
				t.Fatal(err)
			}
			rec2, err := codec.Decode(ctx, tp, again)
			if err != nil || !reflect.DeepEqual(rec, rec2) {
				t.Fatalf("re-encode changed %+v into %+v (%v)", rec, rec2, err)
			}
		}
	})
}

func TestRoutingHelpers(t *testing.T) {
	for _, tt := range []struct{ record, topic string }{
		{"MoneyTransferCommand", topology.BankCommands},
		{"DebitMoneyCommand", topology.TransferCommands},
		{"MoneyDebitedEvent", topology.BankEvents},
		{"UserAccountCreatedEvent", topology.UserEvents},
		{"FindUserQuery", topology.UserQueries},
	} {
		got, err := topology.TopicOf(schemas.Namespace + "." + tt.record)
		if err != nil || got != tt.topic {
			t.Errorf("TopicOf(%s) = %s, %v", tt.record, got, err)
		}
	}
	if _, err := topology.TopicOf(schemas.Namespace + ".CommandSucceeded"); err == nil {
		t.Error("feedback lives on several topics")
	}
	if fb, err := topology.FeedbackTopic(topology.TransferCommands); err != nil || fb != topology.TransferCommandFeedback {
		t.Errorf("FeedbackTopic = %s, %v", fb, err)
	}
	if _, err := topology.FeedbackTopic(topology.BankEvents); err == nil {
		t.Error("events have no feedback")
	}
	// The command handler relies on its input topics being co-partitioned.
	parts := map[int32]bool{}
	for _, name := range []string{topology.UserCommands, topology.BankCommands, topology.TransferCommands, topology.TransferCommandFeedback} {
		tp, _ := topology.Lookup(name)
		parts[tp.Partitions] = true
	}
	if len(parts) != 1 {
		t.Errorf("command topics differ in partition count: %v", parts)
	}
}
