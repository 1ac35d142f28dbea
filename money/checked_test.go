package money

import (
	"math"
	"math/big"
	"testing"
)

// edges are the values where int64 arithmetic wraps.
var edges = []int64{math.MinInt64, math.MinInt64 + 1, -1 << 32, -50_000, -1, 0, 1, 50_000, 1 << 32, math.MaxInt64 - 1, math.MaxInt64}

func TestAddAndSubRefuseWhatDoesNotFit(t *testing.T) {
	for _, a := range edges {
		for _, b := range edges {
			check(t, "Add", a, b, new(big.Int).Add(big.NewInt(a), big.NewInt(b)), Add)
			check(t, "Sub", a, b, new(big.Int).Sub(big.NewInt(a), big.NewInt(b)), Sub)
		}
	}
}

func FuzzAddSub(f *testing.F) {
	f.Add(int64(math.MaxInt64), int64(1))
	f.Fuzz(func(t *testing.T, a, b int64) {
		check(t, "Add", a, b, new(big.Int).Add(big.NewInt(a), big.NewInt(b)), Add)
		check(t, "Sub", a, b, new(big.Int).Sub(big.NewInt(a), big.NewInt(b)), Sub)
	})
}

func check(t *testing.T, op string, a, b int64, exact *big.Int, f func(a, b int64) (int64, bool)) {
	t.Helper()
	got, ok := f(a, b)
	fits := exact.IsInt64()
	if ok != fits || ok && got != exact.Int64() {
		t.Errorf("%s(%d, %d) = %d, %v; exact %s", op, a, b, got, ok, exact)
	}
}
