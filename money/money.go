// Package money formats amounts, which travel everywhere as euro cents in
// an int64.
package money

import "fmt"

// Euro formats cents the Dutch way, as the original API did: €1.234,56.
func Euro(cents int64) string {
	sign := ""
	u := uint64(cents)
	if cents < 0 {
		sign, u = "-", uint64(-(cents+1))+1 // math.MinInt64 has no positive twin
	}
	whole := fmt.Sprint(u / 100)
	for i := len(whole) - 3; i > 0; i -= 3 {
		whole = whole[:i] + "." + whole[i:]
	}
	return fmt.Sprintf("%s€%s,%02d", sign, whole, u%100)
}
