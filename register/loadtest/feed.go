package loadtest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/posdisplay/posdisplay/register/agent"
	"github.com/posdisplay/posdisplay/register/redisfeed"
)

// Environment of an agent child that follows a Redis feed.
const (
	envRedisURL   = "POSDISPLAY_LOADTEST_REDIS_URL"
	envRedisCA    = "POSDISPLAY_LOADTEST_REDIS_CA"
	envRedisStore = "POSDISPLAY_LOADTEST_REDIS_STORE"
)

// redisPrefix is the key prefix of the load runs' streams.
const redisPrefix = "loadtest"

// redisFeed is the sender's side of a Redis feed: a backend that XADDs.
type redisFeed struct {
	url, caFile, store string
	c                  *redis.Client
}

// newRedisFeed connects the sender to s.RedisAddr. Each run gets streams
// of its own (a fresh store name), so the agent starts on an empty stream
// and applies every change from the first.
func newRedisFeed(s Scenario) (*redisFeed, error) {
	f := &redisFeed{url: "redis://" + s.RedisAddr, store: fmt.Sprintf("lt-%d", time.Now().UnixNano())}
	opt := &redis.Options{Addr: s.RedisAddr, DisableIdentity: true, MaxRetries: -1}
	switch s.Feed {
	case FeedRedis:
	case FeedRediss:
		pem, err := os.ReadFile(s.RedisCAFile)
		if err != nil {
			return nil, fmt.Errorf("redis CA: %w", err)
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("redis CA: no certificate in %s", s.RedisCAFile)
		}
		f.url, f.caFile = "rediss://"+s.RedisAddr, s.RedisCAFile
		opt.TLSConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	default:
		return nil, fmt.Errorf("feed %q: want %s or %s", s.Feed, FeedRedis, FeedRediss)
	}
	f.c = redis.NewClient(opt)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f.c.Ping(ctx).Err(); err != nil {
		f.c.Close()
		return nil, fmt.Errorf("redis: %w", err)
	}
	return f, nil
}

func (f *redisFeed) childEnv() []string {
	return []string{envRedisURL + "=" + f.url, envRedisCA + "=" + f.caFile, envRedisStore + "=" + f.store}
}

// add XADDs one POS message, as a backend does.
func (f *redisFeed) add(ctx context.Context, msg []byte) error {
	return f.c.XAdd(ctx, &redis.XAddArgs{
		Stream: redisfeed.PosKey(redisPrefix, f.store, Register), MaxLen: 1000, Approx: true,
		Values: []string{redisfeed.FieldMsg, string(msg)},
	}).Err()
}

// refused counts the error results the agent wrote for the run's entries.
func (f *redisFeed) refused(ctx context.Context) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	msgs, err := f.c.XRange(ctx, redisfeed.ResultsKey(redisPrefix, f.store, Register), "-", "+").Result()
	if err != nil {
		return 0, fmt.Errorf("reading results: %w", err)
	}
	n := 0
	for _, m := range msgs {
		if v, _ := m.Values[redisfeed.FieldMsg].(string); !strings.HasPrefix(v, `{"type":"ack"`) {
			n++
		}
	}
	return n, nil
}

func (f *redisFeed) close() { _ = f.c.Close() }

// childRedis sets the agent child's [redis] section from its environment;
// it reports whether there is one. The results stream keeps every result
// of a run, for refused.
func childRedis(cfg *agent.Config) bool {
	url := os.Getenv(envRedisURL)
	if url == "" {
		return false
	}
	cfg.Redis = agent.RedisConfig{URL: url, CAFile: os.Getenv(envRedisCA), Prefix: redisPrefix,
		Store: os.Getenv(envRedisStore), Registers: []string{Register}, MaxLen: 100_000}
	return true
}

// awaitFeed waits until the agent child's Redis link is up: changes XADDed
// before would be old entries it skips (it starts from the newest).
func awaitFeed(f *redisfeed.Feed, limit time.Duration) error {
	end := time.After(limit)
	for {
		s, changed := f.Watch()
		if s.State == redisfeed.StateUp {
			return nil
		}
		select {
		case <-changed:
		case <-end:
			return errors.New("redis link not up: " + s.Reason + ": " + s.Error)
		}
	}
}
