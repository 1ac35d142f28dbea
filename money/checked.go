package money

import "math"

// Add returns a+b, and false when the sum does not fit in an int64.
// Balances are changed through it: a wrapped sum would create or destroy
// money (a MaxInt64 transfer once did).
func Add(a, b int64) (int64, bool) {
	if b > 0 && a > math.MaxInt64-b || b < 0 && a < math.MinInt64-b {
		return 0, false
	}
	return a + b, true
}

// Sub returns a-b, and false when the difference does not fit in an int64.
func Sub(a, b int64) (int64, bool) {
	if b > 0 && a < math.MinInt64+b || b < 0 && a > math.MaxInt64+b {
		return 0, false
	}
	return a - b, true
}
