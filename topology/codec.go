package topology

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/linkedin/goavro/v2"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/openbank/bank/schemas"
)

// Errors a decode can end with. A message failing with one of them will never
// decode, so a consumer parks it (dead-letter topic) instead of retrying;
// any other error (the registry unreachable, say) is worth a retry.
var (
	// ErrMalformed: the bytes are not a Confluent-framed Avro record of the
	// schema they name.
	ErrMalformed = errors.New("malformed message")
	// ErrUnknownSchema: the registry has no schema with the id the message names.
	ErrUnknownSchema = errors.New("unknown schema id")
	// ErrUnexpectedRecord: a well-formed record that does not belong on the
	// topic, or that this build does not know.
	ErrUnexpectedRecord = errors.New("unexpected record type")
)

// IsPoison reports whether a decode error means the message can never be
// handled.
func IsPoison(err error) bool {
	return errors.Is(err, ErrMalformed) || errors.Is(err, ErrUnknownSchema) || errors.Is(err, ErrUnexpectedRecord)
}

// SchemaRegistry is the part of a registry client the codec uses;
// *sr.Client implements it.
type SchemaRegistry interface {
	LookupSchema(ctx context.Context, subject string, s sr.Schema) (sr.SubjectSchema, error)
	SchemaByID(ctx context.Context, id int) (sr.Schema, error)
}

// Codec turns records into Kafka message values and back, in the Confluent
// wire format: a zero magic byte, the 4-byte big-endian schema id, then the
// Avro binary body. Schema ids are looked up once per subject or id and then
// cached, so the registry is not asked per message.
type Codec struct {
	reg SchemaRegistry

	mu      sync.RWMutex
	writers map[string]*writer // by subject
	readers map[int]*reader    // by schema id
}

type writer struct {
	header [5]byte
	codec  *goavro.Codec
}

type reader struct {
	name  string // full Avro name of the writer schema
	codec *goavro.Codec
}

// NewCodec returns a codec that resolves schemas through reg.
func NewCodec(reg SchemaRegistry) *Codec {
	return &Codec{reg: reg, writers: map[string]*writer{}, readers: map[int]*reader{}}
}

// Encode returns the wire form of r for the given topic. It fails if r does
// not belong on the topic or if its schema is not registered (run the
// synchronizer).
func (c *Codec) Encode(ctx context.Context, topic string, r schemas.Record) ([]byte, error) {
	name := r.AvroName()
	if !Carries(topic, name) {
		return nil, fmt.Errorf("encode %s for %s: %w", name, topic, ErrUnexpectedRecord)
	}
	w, err := c.writer(ctx, topic, name)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, 5, 64)
	copy(buf, w.header[:])
	buf, err = w.codec.BinaryFromNative(buf, schemas.ToNative(r))
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", name, err)
	}
	return buf, nil
}

func (c *Codec) writer(ctx context.Context, topic, name string) (*writer, error) {
	subject := Subject(topic, name)
	c.mu.RLock()
	w, ok := c.writers[subject]
	c.mu.RUnlock()
	if ok {
		return w, nil
	}
	text, err := schemas.Compose(name)
	if err != nil {
		return nil, err
	}
	ss, err := c.reg.LookupSchema(ctx, subject, sr.Schema{Schema: text, Type: sr.TypeAvro})
	if err != nil {
		if isNotFound(err) {
			return nil, fmt.Errorf("schema of %s is not registered under subject %s (run `bank sync`): %w", name, subject, err)
		}
		return nil, fmt.Errorf("look up schema id of subject %s: %w", subject, err)
	}
	codec, err := goavro.NewCodec(text)
	if err != nil {
		return nil, fmt.Errorf("parse schema %s: %w", name, err)
	}
	w = &writer{codec: codec}
	binary.BigEndian.PutUint32(w.header[1:], uint32(ss.ID))
	c.mu.Lock()
	c.writers[subject] = w
	c.mu.Unlock()
	return w, nil
}

// Decode parses a message value read from the given topic. Errors wrap
// ErrMalformed, ErrUnknownSchema or ErrUnexpectedRecord when the message can
// never be decoded (see IsPoison).
func (c *Codec) Decode(ctx context.Context, topic string, value []byte) (schemas.Record, error) {
	if len(value) < 5 {
		return nil, fmt.Errorf("%w: %d bytes, shorter than the 5-byte header", ErrMalformed, len(value))
	}
	if value[0] != 0 {
		return nil, fmt.Errorf("%w: magic byte %d, want 0", ErrMalformed, value[0])
	}
	id := int(binary.BigEndian.Uint32(value[1:5]))
	rd, err := c.reader(ctx, id)
	if err != nil {
		return nil, err
	}
	if !Carries(topic, rd.name) {
		return nil, fmt.Errorf("%w: %s on topic %s", ErrUnexpectedRecord, rd.name, topic)
	}
	rec, ok := schemas.New(rd.name)
	if !ok {
		return nil, fmt.Errorf("%w: %s is unknown to this build", ErrUnexpectedRecord, rd.name)
	}
	native, rest, err := rd.codec.NativeFromBinary(value[5:])
	if err != nil {
		return nil, fmt.Errorf("%w: %s body: %v", ErrMalformed, rd.name, err)
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: %s body: %d trailing bytes", ErrMalformed, rd.name, len(rest))
	}
	if err := schemas.FromNative(native, rec); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return rec, nil
}

func (c *Codec) reader(ctx context.Context, id int) (*reader, error) {
	c.mu.RLock()
	rd, ok := c.readers[id]
	c.mu.RUnlock()
	if ok {
		return rd, nil
	}
	s, err := c.reg.SchemaByID(ctx, id)
	if err != nil {
		if isNotFound(err) {
			return nil, fmt.Errorf("%w: %d", ErrUnknownSchema, id)
		}
		return nil, fmt.Errorf("fetch schema %d: %w", id, err)
	}
	if s.Type != sr.TypeAvro {
		return nil, fmt.Errorf("%w: schema %d is %s, not Avro", ErrUnexpectedRecord, id, s.Type)
	}
	var head struct{ Name, Namespace string }
	if err := json.Unmarshal([]byte(s.Schema), &head); err != nil || head.Name == "" {
		return nil, fmt.Errorf("%w: schema %d is not a named record", ErrUnexpectedRecord, id)
	}
	name := head.Name
	if head.Namespace != "" && !strings.Contains(name, ".") {
		name = head.Namespace + "." + name
	}
	codec, err := goavro.NewCodec(s.Schema)
	if err != nil {
		return nil, fmt.Errorf("%w: schema %d does not parse: %v", ErrUnexpectedRecord, id, err)
	}
	rd = &reader{name: name, codec: codec}
	c.mu.Lock()
	c.readers[id] = rd
	c.mu.Unlock()
	return rd, nil
}

// isNotFound reports whether the registry answered that a subject, version or
// schema does not exist (HTTP 404, Confluent error codes 404xx).
func isNotFound(err error) bool {
	var re *sr.ResponseError
	return errors.As(err, &re) && re.StatusCode == http.StatusNotFound
}
