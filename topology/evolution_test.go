package topology_test

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/hamba/avro/v2"
	"github.com/linkedin/goavro/v2"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/schemas/schematest"
	"github.com/openbank/bank/topology"
)

// testdata/previous holds the schemas as the first release wrote them, for
// every record changed since. Data written with them must still decode:
// the registry accepts each change as BACKWARD compatible, and the codec
// fills the new fields with their defaults (a transaction from before
// times were kept has at_millis 0, which the API shows as no time).
func TestRecordsWrittenWithThePreviousSchemasStillDecode(t *testing.T) {
	files, err := filepath.Glob("testdata/previous/*.avsc")
	if err != nil || len(files) < 8 {
		t.Fatalf("previous schemas: %v %v", files, err)
	}
	reg := newRegistry(t)
	codec := topology.NewCodec(reg)
	for i, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".avsc")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			// The registered schemas name Id by reference; stand-alone, it
			// is defined where first used.
			old := strings.Replace(string(raw), `"type": "Id"`, `"type": {"type": "fixed", "name": "Id", "size": 16}`, 1)
			var current schemas.Record
			for _, r := range schemas.All() {
				if r.AvroName() == schemas.Namespace+"."+name {
					current = r
				}
			}
			if current == nil {
				t.Fatalf("no record %s", name)
			}
			checkBackward(t, old, current)

			schematest.Fill(current, i+1)
			oldCodec, err := goavro.NewCodec(old)
			if err != nil {
				t.Fatal(err)
			}
			native := schemas.ToNative(current)
			oldFields := map[string]bool{}
			for k := range native {
				if !strings.Contains(old, `"name": "`+k+`"`) {
					delete(native, k) // a field the old schema did not have
				} else {
					oldFields[k] = true
				}
			}
			body, err := oldCodec.BinaryFromNative(nil, native)
			if err != nil {
				t.Fatal(err)
			}
			ss, err := reg.CreateSchema(context.Background(), "previous-"+name, sr.Schema{Schema: old})
			if err != nil {
				t.Fatal(err)
			}
			value := append(binary.BigEndian.AppendUint32([]byte{0}, uint32(ss.ID)), body...)
			var topic string // the first topic that carries it
			for _, tp := range topology.Topics {
				if topic == "" && topology.Carries(tp.Name, current.AvroName()) {
					topic = tp.Name
				}
			}
			got, err := codec.Decode(context.Background(), topic, value)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			gotNative := schemas.ToNative(got)
			for k, v := range gotNative {
				if oldFields[k] && !reflect.DeepEqual(v, native[k]) {
					t.Errorf("field %s: %v, want %v", k, v, native[k])
				}
				if !oldFields[k] && v != nil && !reflect.ValueOf(v).IsZero() {
					t.Errorf("field %s is %v, not its default", k, v)
				}
			}
		})
	}
}

// checkBackward checks that a reader with the current schema reads what
// the old one wrote, as the registry does before accepting it.
func checkBackward(t *testing.T, old string, current schemas.Record) {
	t.Helper()
	cache := &avro.SchemaCache{}
	writer, err := avro.ParseWithCache(old, "", cache)
	if err != nil {
		t.Fatal(err)
	}
	composed, err := schemas.Compose(current.AvroName())
	if err != nil {
		t.Fatal(err)
	}
	reader, err := avro.ParseWithCache(composed, "", &avro.SchemaCache{})
	if err != nil {
		t.Fatal(err)
	}
	if err := avro.NewSchemaCompatibility().Compatible(reader, writer); err != nil {
		t.Fatalf("not backward compatible: %v", err)
	}
}
