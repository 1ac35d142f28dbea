package schemas

import (
	"crypto/rand"
	"fmt"
	"reflect"
	"sync"

	"github.com/google/uuid"
)

// Record is a Go value of one of the Avro records in this package.
type Record interface {
	// AvroName is the record's full Avro name.
	AvroName() string
	// Key is the Kafka message key: the id of the record's aggregate.
	Key() string
	// RecordID is the record's id field.
	RecordID() ID
}

// ID is the Avro fixed type Id: a UUID as 16 raw bytes.
type ID [16]byte

// NewID returns a random (version 4) UUID.
func NewID() ID {
	var id ID
	if _, err := rand.Read(id[:]); err != nil {
		// crypto/rand never fails on supported platforms (Go 1.24+ crashes
		// the program itself rather than return an error).
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	id[6] = (id[6] & 0x0f) | 0x40
	id[8] = (id[8] & 0x3f) | 0x80
	return id
}

// ParseID parses the textual form of a UUID.
func ParseID(s string) (ID, error) {
	u, err := uuid.Parse(s)
	if err != nil {
		return ID{}, fmt.Errorf("invalid id %q: %w", s, err)
	}
	return ID(u), nil
}

// String returns the canonical textual form of the UUID.
func (id ID) String() string { return uuid.UUID(id).String() }

// New returns a new zero record of the type with the given full Avro name.
func New(avroName string) (Record, bool) {
	t, ok := typesByName()[avroName]
	if !ok {
		return nil, false
	}
	return reflect.New(t).Interface().(Record), true
}

// All returns a zero value of every record type.
func All() []Record {
	out := make([]Record, len(all))
	for i, r := range all {
		out[i] = reflect.New(reflect.TypeOf(r).Elem()).Interface().(Record)
	}
	return out
}

var typesByName = sync.OnceValue(func() map[string]reflect.Type {
	m := make(map[string]reflect.Type, len(all))
	for _, r := range all {
		m[r.AvroName()] = reflect.TypeOf(r).Elem()
	}
	return m
})

// field maps one struct field to one Avro field.
type field struct {
	index    int
	avro     string
	nullable bool // a *string, which Avro holds as the union ["null","string"]
}

var fieldCache sync.Map // reflect.Type -> []field

func fieldsOf(t reflect.Type) []field {
	if f, ok := fieldCache.Load(t); ok {
		return f.([]field)
	}
	var fs []field
	for i := range t.NumField() {
		sf := t.Field(i)
		name, ok := sf.Tag.Lookup("avro")
		if !ok {
			continue
		}
		fs = append(fs, field{index: i, avro: name, nullable: sf.Type.Kind() == reflect.Pointer})
	}
	fieldCache.Store(t, fs)
	return fs
}

// ToNative converts a record to the generic form goavro encodes.
func ToNative(r Record) map[string]any {
	v := reflect.ValueOf(r).Elem()
	fs := fieldsOf(v.Type())
	m := make(map[string]any, len(fs))
	for _, f := range fs {
		fv := v.Field(f.index)
		switch x := fv.Interface().(type) {
		case ID:
			m[f.avro] = x[:]
		case *string:
			if x == nil {
				m[f.avro] = nil
			} else {
				m[f.avro] = map[string]any{"string": *x}
			}
		default:
			m[f.avro] = x
		}
	}
	return m
}

// FromNative fills a record from the generic form goavro decodes, and fails
// if a field is missing or of another type than the record expects.
func FromNative(native any, r Record) error {
	m, ok := native.(map[string]any)
	if !ok {
		return fmt.Errorf("%s: expected a record, got %T", r.AvroName(), native)
	}
	v := reflect.ValueOf(r).Elem()
	for _, f := range fieldsOf(v.Type()) {
		raw, ok := m[f.avro]
		if !ok {
			// Data written with an older schema lacks fields added since;
			// Avro's schema resolution fills them from our defaults.
			if raw, ok = defaultOf(r.AvroName(), f); !ok {
				return fmt.Errorf("%s: field %s missing and has no default", r.AvroName(), f.avro)
			}
		}
		fv := v.Field(f.index)
		if err := setField(fv, raw); err != nil {
			return fmt.Errorf("%s: field %s: %w", r.AvroName(), f.avro, err)
		}
	}
	return nil
}

func setField(fv reflect.Value, raw any) error {
	switch fv.Interface().(type) {
	case ID:
		b, ok := raw.([]byte)
		if !ok || len(b) != 16 {
			return fmt.Errorf("expected 16 bytes, got %T", raw)
		}
		fv.Set(reflect.ValueOf(ID(b)))
	case *string:
		switch u := raw.(type) {
		case nil:
			fv.Set(reflect.Zero(fv.Type()))
		case map[string]any:
			s, ok := u["string"].(string)
			if !ok || len(u) != 1 {
				return fmt.Errorf("expected null or string, got %v", u)
			}
			fv.Set(reflect.ValueOf(&s))
		default:
			return fmt.Errorf("expected null or string, got %T", raw)
		}
	default:
		rv := reflect.ValueOf(raw)
		if !rv.IsValid() || rv.Type() != fv.Type() {
			return fmt.Errorf("expected %s, got %T", fv.Type(), raw)
		}
		fv.Set(rv)
	}
	return nil
}

// defaultOf returns the native form of a field's default in the record's own
// schema, if it has one.
func defaultOf(avroName string, f field) (any, bool) {
	defs, err := load()
	if err != nil {
		return nil, false
	}
	fields, _ := defs[avroName]["fields"].([]any)
	for _, raw := range fields {
		fm, _ := raw.(map[string]any)
		if fm["name"] != f.avro {
			continue
		}
		d, ok := fm["default"]
		if !ok {
			return nil, false
		}
		switch v := d.(type) {
		case nil:
			return nil, f.nullable
		case string:
			if f.nullable {
				// A union's default is of its first branch, which for our
				// nullable fields is null; a string here is a schema bug.
				return nil, false
			}
			return v, true
		case float64:
			if t, ok := fm["type"].(string); ok && t == "int" {
				return int32(v), true
			}
			return int64(v), true
		case bool:
			return v, true
		}
		return nil, false
	}
	return nil, false
}
