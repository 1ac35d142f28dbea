// Package scalar holds the GraphQL scalars whose Go mapping is the
// gateway's own choice rather than gqlgen's.
package scalar

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"

	"github.com/99designs/gqlgen/graphql"
)

// MarshalInt writes a GraphQL Int.
func MarshalInt(i int) graphql.Marshaler { return graphql.MarshalInt(i) }

// UnmarshalInt reads a GraphQL Int as the specification defines it: a
// signed 32-bit integer, from an integer literal or a JSON number without
// a fraction. gqlgen's own Int takes 64-bit values and numeric strings;
// taking them let one request send 9223372036854775807 cents. Amounts that
// need more than 32 bits travel as Cents.
func UnmarshalInt(v any) (int, error) {
	var n int64
	switch v := v.(type) {
	case int, int8, int16, int32, int64:
		n = reflect.ValueOf(v).Int()
	case json.Number:
		var err error
		if n, err = strconv.ParseInt(string(v), 10, 64); err != nil {
			return 0, fmt.Errorf("Int must be a 32-bit integer, not %s", v)
		}
	default:
		return 0, fmt.Errorf("Int must be a 32-bit integer, not %T", v)
	}
	if n < math.MinInt32 || n > math.MaxInt32 {
		return 0, fmt.Errorf("Int must be a 32-bit integer: %d is outside -2147483648..2147483647", n)
	}
	return int(n), nil
}
