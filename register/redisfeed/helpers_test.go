package redisfeed_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/posdisplay/posdisplay/register/agent"
	"github.com/posdisplay/posdisplay/register/agent/agenttest"
	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/register/protocol"
	"github.com/posdisplay/posdisplay/register/redisfeed"
	"github.com/posdisplay/posdisplay/register/redisfeed/redistest"
	"github.com/posdisplay/posdisplay/register/testlog"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const (
	testToken = "display-token-0123456789"
	testStore = "s1"
	prefix    = "pd"
	// wait bounds every wait for an event in these tests.
	wait = 20 * time.Second
)

func testConfig(t testing.TB, redisAddr string, registers ...string) agent.Config {
	cfg := agent.DefaultConfig()
	cfg.AgentID = "lane-agent"
	cfg.Registers = registers
	cfg.POS.Listen = "127.0.0.1:0"
	cfg.Display.Listen = "127.0.0.1:0"
	cfg.POS.AllowedOrigins = []string{"http://pos.test"}
	cfg.Display.Tokens = []string{testToken}
	cfg.State.Dir = t.TempDir()
	cfg.Redis = agent.RedisConfig{URL: "redis://" + redisAddr, Prefix: prefix, Store: testStore, Registers: registers}
	return cfg
}

type running struct{ *agenttest.Running }

func startAgent(t testing.TB, cfg agent.Config) *running {
	t.Helper()
	return &running{agenttest.Start(t, cfg, testlog.New(t, slog.LevelDebug))}
}

func (r *running) stop() { _ = r.Stop() }

// waitState waits until the link's state is want and returns its status.
func waitState(t testing.TB, f *redisfeed.Feed, want string) redisfeed.Status {
	t.Helper()
	deadline := time.After(wait)
	for {
		s, changed := f.Watch()
		if s.State == want {
			return s
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("redis link: got %+v, want state %s", s, want)
		}
	}
}

// healthz fetches the agent's /healthz.
func healthz(t testing.TB, r *running) map[string]any {
	t.Helper()
	resp, err := http.Get("http://" + r.POSAddr().String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var h map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatal(err)
	}
	return h
}

// basket is a valid open cart of order with one line of n items.
func basket(register, order string, n int) cart.Cart {
	c := cart.Empty(register, "USD")
	c.State = cart.StateOpen
	c.Order = order
	c.Lines = []cart.Line{{ID: "l1", Title: "Widget", Quantity: cart.Quantity(n * 1000), UnitPrice: 250}}
	agent.Recompute(&c, 800)
	return c
}

// backend is the POS backend's side: an administrator's client.
type backend struct {
	t testing.TB
	c redis.UniversalClient
}

func newBackend(t testing.TB, srv *redistest.Server) *backend {
	return &backend{t: t, c: srv.Client(t)}
}

func cartMsg(t testing.TB, c cart.Cart, id string) string {
	data, err := json.Marshal(protocol.CartMsg{Type: protocol.TypeCart, ID: protocol.StringID(id), Cart: c})
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// xadd appends fields to register's pos stream and returns the entry id.
func (b *backend) xadd(register string, fields ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return b.c.XAdd(ctx, &redis.XAddArgs{Stream: redisfeed.PosKey(prefix, testStore, register), MaxLen: 1000, Approx: true, Values: fields}).Result()
}

func (b *backend) mustAdd(register, msg string) string {
	b.t.Helper()
	id, err := b.xadd(register, redisfeed.FieldMsg, msg)
	if err != nil {
		b.t.Fatalf("xadd: %v", err)
	}
	return id
}

// results reads a register's results stream in order.
type results struct {
	b    *backend
	key  string
	last string
}

func (b *backend) results(register string) *results {
	return &results{b: b, key: redisfeed.ResultsKey(prefix, testStore, register), last: "0-0"}
}

// next returns the next result, waiting for it.
func (r *results) next() redisfeed.Result {
	r.b.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for {
		res, err := r.b.c.XRead(ctx, &redis.XReadArgs{Streams: []string{r.key, r.last}, Count: 1, Block: time.Second}).Result()
		if err == redis.Nil {
			continue
		}
		if err != nil {
			r.b.t.Fatalf("read results %s: %v", r.key, err)
		}
		m := res[0].Messages[0]
		r.last = m.ID
		var out redisfeed.Result
		if err := json.Unmarshal([]byte(m.Values[redisfeed.FieldMsg].(string)), &out); err != nil {
			r.b.t.Fatalf("result %v: %v", m.Values, err)
		}
		return out
	}
}

// until reads results up to and including the one for entry.
func (r *results) until(entry string) []redisfeed.Result {
	r.b.t.Helper()
	var out []redisfeed.Result
	for {
		res := r.next()
		out = append(out, res)
		if res.Entry == entry {
			return out
		}
	}
}

// display is a display socket with a replica of the register's cart.
// Like a real display it reads all the time (one read loop, which also
// answers the agent's pings): a test that left it unread for longer than
// the agent's pong wait (8 s) while it cut links or restarted Redis would
// find it dropped.
type display struct {
	t    testing.TB
	ws   *websocket.Conn
	msgs chan frame
	pos  protocol.Position
	cart cart.Cart
}

// frame is one message the read loop got, or the error that ended it.
type frame struct {
	data []byte
	err  error
}

func dialDisplay(t testing.TB, r *running, register string) *display {
	t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial(fmt.Sprintf("ws://%s/v1/display", r.DisplayAddr()), nil)
	if err != nil {
		t.Fatalf("dial display: %v", err)
	}
	if err := ws.WriteJSON(protocol.Hello{Type: protocol.TypeHello, Register: register, Token: testToken}); err != nil {
		ws.Close()
		t.Fatal(err)
	}
	d := &display{t: t, ws: ws, msgs: make(chan frame, 4096)}
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			_, data, err := ws.ReadMessage()
			select {
			case d.msgs <- frame{data, err}:
			case <-done:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		close(done)
		ws.Close()
		<-stopped
	})
	m := d.read()
	if m.Welcome == nil || m.Welcome.Register != register {
		t.Fatalf("display welcome: got %+v", m)
	}
	return d
}

func (d *display) read() protocol.ServerMessage {
	d.t.Helper()
	var f frame
	select {
	case f = <-d.msgs:
	case <-time.After(wait):
		d.t.Fatalf("display read: nothing within %v", wait)
	}
	if f.err != nil {
		d.t.Fatalf("display read: %v", f.err)
	}
	m, err := protocol.DecodeServer(f.data)
	if err != nil {
		d.t.Fatalf("display decode %s: %v", f.data, err)
	}
	return m
}

// await applies snapshots and deltas, as a display does, until the
// replica equals want; it returns how many deltas it applied.
func (d *display) await(want cart.Cart) int {
	d.t.Helper()
	n := 0
	for d.pos.Epoch == "" || !reflect.DeepEqual(d.cart, want) {
		m := d.read()
		switch {
		case m.Snapshot != nil:
			d.pos, d.cart = m.Snapshot.Position, m.Snapshot.Cart
		case m.Delta != nil:
			if m.Delta.Seq != d.pos.Seq+1 {
				d.t.Fatalf("delta %+v does not follow %+v", m.Delta.Position, d.pos)
			}
			c, err := cart.Apply(d.cart, m.Delta.Ops)
			if err != nil {
				d.t.Fatal(err)
			}
			d.pos, d.cart = m.Delta.Position, c
			n++
		}
	}
	return n
}

// copyDir copies the files of a state directory as a crash would leave
// them: each complete (they are replaced atomically by rename). Temporary
// files of a write under way are skipped (a restarted agent ignores them),
// as is a file replaced between listing and reading.
func copyDir(t testing.TB, src, dst string) {
	t.Helper()
	if err := os.MkdirAll(dst, 0o750); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), data, 0o640); err != nil {
			t.Fatal(err)
		}
	}
}
