package ingest

import "golang.org/x/time/rate"

// newLimiter is a page socket's message limiter: perSecond messages a second,
// at most burst saved up; perSecond <= 0 turns the limit off. Callers pass
// their clock to AllowN. A clock step back earns no tokens.
func newLimiter(perSecond, burst float64) *rate.Limiter {
	if perSecond <= 0 {
		return rate.NewLimiter(rate.Inf, 0)
	}
	return rate.NewLimiter(rate.Limit(perSecond), int(burst))
}
