// Package schematest helps tests build records.
package schematest

import (
	"reflect"
	"strings"

	"github.com/openbank/bank/schemas"
)

// Fill sets every field of r to a value that differs per field, so a round
// trip that swapped or dropped fields would show.
func Fill(r schemas.Record, seed int) {
	v := reflect.ValueOf(r).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		switch f.Interface().(type) {
		case schemas.ID:
			f.Set(reflect.ValueOf(schemas.NewID()))
		case string:
			f.SetString(v.Type().Field(i).Name + "-" + strings.Repeat("é", seed%3))
		case int64:
			f.SetInt(int64(-seed*1000 - i - 1<<40))
		case int32:
			f.SetInt(int64(seed + i))
		case *string:
			if seed%2 == 0 {
				s := "info-" + v.Type().Field(i).Name
				f.Set(reflect.ValueOf(&s))
			}
		}
	}
}
