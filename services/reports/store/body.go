package store

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"sync"

	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/topology"
)

// secretFields are the fields the audit log never keeps: password hashes
// and account tokens.
var secretFields = map[string]bool{"password": true, "token": true}

// eventColumns are the audit table's columns, in auditRow's order.
var eventColumns = []string{"topic", "partition", "log_offset", "at", "type", "aggregate", "actor", "record_id", "body", "transaction_id", "note"}

// auditRow is an event's row of the audit table.
func auditRow(e Event, txID int64, note string) ([]any, error) {
	typ, body, actor := "undecodable", []byte("{}"), (*string)(nil)
	var recordID any
	if e.Record != nil {
		var err error
		typ = topology.ShortName(e.Record.AvroName())
		if body, actor, err = Body(e.Record); err != nil {
			return nil, fmt.Errorf("audit %s/%d at %d: %w", e.Topic, e.Partition, e.Offset, err)
		}
		recordID = [16]byte(e.Record.RecordID())
	}
	var tx, n any
	if txID > 0 {
		tx = txID
	}
	if note != "" {
		n = note
	}
	return []any{e.Topic, e.Partition, e.Offset, e.At.UTC(), typ, e.Key, actor, recordID, string(body), tx, n}, nil
}

// field is one Avro field of a record type.
type field struct {
	index int
	name  string
}

var fieldsByType sync.Map // reflect.Type -> []field

func fieldsOf(t reflect.Type) []field {
	if fs, ok := fieldsByType.Load(t); ok {
		return fs.([]field)
	}
	var fs []field
	for i := range t.NumField() {
		if name, ok := t.Field(i).Tag.Lookup("avro"); ok && !secretFields[name] {
			fs = append(fs, field{i, name})
		}
	}
	fieldsByType.Store(t, fs)
	return fs
}

// Body is a record as JSON, keyed by its Avro field names in the
// schema's order, without its secret fields, ids as UUID text; and its
// actor: the username field, where the record has one.
func Body(rec schemas.Record) (body []byte, actor *string, err error) {
	v := reflect.ValueOf(rec).Elem()
	body = append(make([]byte, 0, 256), '{')
	for i, f := range fieldsOf(v.Type()) {
		if i > 0 {
			body = append(body, ',')
		}
		body = strconv.AppendQuote(body, f.name) // Avro names are plain ASCII
		body = append(body, ':')
		var b []byte
		switch x := v.Field(f.index).Interface().(type) {
		case schemas.ID:
			b, err = json.Marshal(x.String())
		case string:
			if f.name == "username" && x != "" {
				actor = &x
			}
			b, err = json.Marshal(x)
		default:
			b, err = json.Marshal(x)
		}
		if err != nil {
			return nil, nil, err
		}
		body = append(body, b...)
	}
	return append(body, '}'), actor, nil
}
