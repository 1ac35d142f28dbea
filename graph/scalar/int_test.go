package scalar

import (
	"encoding/json"
	"math"
	"testing"
)

func TestIntIs32Bits(t *testing.T) {
	for _, tc := range []struct {
		in any
		ok bool
	}{
		{json.Number("5"), true}, {int64(math.MaxInt32), true}, {int64(math.MinInt32), true},
		{int64(math.MaxInt32 + 1), false}, {int64(math.MinInt32 - 1), false}, {int64(math.MaxInt64), false},
		{json.Number("9223372036854775807"), false}, {json.Number("99999999999999999999"), false},
		{json.Number("1.5"), false}, {json.Number("1e3"), false}, {"5", false}, {1.0, false}, {nil, false}, {true, false},
	} {
		_, err := UnmarshalInt(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("UnmarshalInt(%#v): %v, want ok=%v", tc.in, err, tc.ok)
		}
	}
}
