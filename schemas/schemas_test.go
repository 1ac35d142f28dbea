package schemas_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/linkedin/goavro/v2"

	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/schemas/schematest"
)

func TestEveryRecordHasAGoTypeAndBack(t *testing.T) {
	names, err := schemas.RecordNames()
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != len(schemas.All()) {
		t.Fatalf("%d record schemas but %d Go types", len(names), len(schemas.All()))
	}
	for _, n := range names {
		if _, ok := schemas.New(n); !ok {
			t.Errorf("schema %s has no Go type", n)
		}
	}
}

func TestComposeInlinesSharedTypesOnce(t *testing.T) {
	s, err := schemas.Compose(schemas.Namespace + ".MoneyTransferCommand")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(s, `"size":16`); got != 1 {
		t.Errorf("Id defined %d times in %s", got, s)
	}
	again, _ := schemas.Compose(schemas.Namespace + ".MoneyTransferCommand")
	if again != s {
		t.Error("compose is not deterministic")
	}
	if _, err := schemas.Compose(schemas.Namespace + ".Id"); err == nil {
		t.Error("composing a shared type (not a record) should fail")
	}
	if _, err := schemas.Compose("nl.nope.Missing"); err == nil {
		t.Error("composing an unknown record should fail")
	}
}

func TestRoundTripThroughAvro(t *testing.T) {
	for _, proto := range schemas.All() {
		for seed := range 2 {
			name := proto.AvroName()
			t.Run(name, func(t *testing.T) {
				text, err := schemas.Compose(name)
				if err != nil {
					t.Fatal(err)
				}
				codec, err := goavro.NewCodec(text)
				if err != nil {
					t.Fatalf("goavro rejects %s: %v", text, err)
				}
				in, _ := schemas.New(name)
				schematest.Fill(in, seed)
				bin, err := codec.BinaryFromNative(nil, schemas.ToNative(in))
				if err != nil {
					t.Fatal(err)
				}
				native, rest, err := codec.NativeFromBinary(bin)
				if err != nil || len(rest) != 0 {
					t.Fatalf("decode: %v, %d left", err, len(rest))
				}
				out, _ := schemas.New(name)
				if err := schemas.FromNative(native, out); err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(in, out) {
					t.Errorf("round trip changed the record:\n in %+v\nout %+v", in, out)
				}
			})
		}
	}
}

func TestFromNativeRejectsWrongShapes(t *testing.T) {
	good := schemas.ToNative(&schemas.CommandSucceeded{ID: schemas.NewID(), CommandName: "x"})
	tests := []struct {
		name  string
		patch func(m map[string]any)
	}{
		{"id of 15 bytes", func(m map[string]any) { m["id"] = make([]byte, 15) }},
		{"id as string", func(m map[string]any) { m["id"] = "abc" }},
		{"string as number", func(m map[string]any) { m["command_name"] = int64(3) }},
		{"union of wrong branch", func(m map[string]any) { m["additional_info"] = map[string]any{"long": int64(1)} }},
		{"missing field without default", func(m map[string]any) { delete(m, "command_name") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := map[string]any{}
			for k, v := range good {
				m[k] = v
			}
			tt.patch(m)
			if err := schemas.FromNative(m, &schemas.CommandSucceeded{}); err == nil {
				t.Error("accepted")
			}
		})
	}
	if err := schemas.FromNative("not a record", &schemas.CommandSucceeded{}); err == nil {
		t.Error("accepted a non-record")
	}
}

func TestMissingFieldTakesItsDefault(t *testing.T) {
	m := schemas.ToNative(&schemas.CommandSucceeded{ID: schemas.NewID(), CommandName: "x"})
	delete(m, "additional_info")
	var out schemas.CommandSucceeded
	if err := schemas.FromNative(m, &out); err != nil {
		t.Fatal(err)
	}
	if out.AdditionalInfo != nil {
		t.Errorf("default not applied: %v", *out.AdditionalInfo)
	}
}

func TestIDText(t *testing.T) {
	id := schemas.NewID()
	back, err := schemas.ParseID(id.String())
	if err != nil || back != id {
		t.Fatalf("schemas.ParseID(%s) = %v, %v", id, back, err)
	}
	if id[6]>>4 != 4 {
		t.Errorf("not a version 4 UUID: %s", id)
	}
	if _, err := schemas.ParseID("not-a-uuid"); err == nil {
		t.Error("accepted garbage")
	}
}

func TestSchemaFilesAreValidJSONWithDocs(t *testing.T) {
	names, err := schemas.RecordNames()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		text, _ := schemas.Compose(name)
		var def map[string]any
		if err := json.Unmarshal([]byte(text), &def); err != nil {
			t.Fatal(err)
		}
		if def["doc"] == nil {
			t.Errorf("%s has no doc", name)
		}
	}
}
