package money

import (
	"math"
	"testing"
)

func TestEuro(t *testing.T) {
	for cents, want := range map[int64]string{
		0: "€0,00", 5: "€0,05", 50_000: "€500,00", 123_456_789: "€1.234.567,89", -1_050: "-€10,50",
		math.MaxInt64: "€92.233.720.368.547.758,07", math.MinInt64: "-€92.233.720.368.547.758,08",
	} {
		if got := Euro(cents); got != want {
			t.Errorf("Euro(%d) = %s, want %s", cents, got, want)
		}
	}
}
