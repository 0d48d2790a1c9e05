package jsbus_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/wssgo/wss"

	"github.com/nats-io/nats.go"
	"github.com/wssgo/wss/internal/natstest"
	"github.com/wssgo/wss/pubsub"
	"github.com/wssgo/wss/pubsub/jsbus"
)

var quiet = slog.New(slog.NewTextHandler(testLog{}, &slog.HandlerOptions{Level: slog.LevelDebug}))

type testLog struct{}

func (testLog) Write(b []byte) (int, error) {
	if os.Getenv("JSLOG") != "" {
		os.Stderr.Write(b)
	}
	return len(b), nil
}

// node is one server's PubSub on a JetStream store.
type node struct {
	nc    *nats.Conn
	store *jsbus.Store
	ps    *pubsub.PubSub
}

func startNode(t *testing.T, url string, limits pubsub.Limits) *node {
	t.Helper()
	return startNamedNode(t, url, limits, "")
}

func startNamedNode(t *testing.T, url string, limits pubsub.Limits, name string) *node {
	t.Helper()
	nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	store, err := jsbus.New(ctx, nc, &jsbus.Options{Node: name, Limits: limits, Logger: quiet, RetryWait: 20 * time.Millisecond, Timeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ps, err := pubsub.New(&pubsub.Options{Store: store, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ps.Close() })
	return &node{nc: nc, store: store, ps: ps}
}

// seen is what one node's listeners received: per topic, the messages
// with their IDs, in arrival order.
type seen struct {
	mu     sync.Mutex
	topics map[string][]string
	n      int
	count  chan int
}

func listen(n *node, topics []string) *seen {
	s := &seen{topics: make(map[string][]string), count: make(chan int, 1<<16)}
	for _, topic := range topics {
		n.ps.Listen(topic, func(data []byte, _ wss.MessageType) {
			s.mu.Lock()
			s.topics[topic] = append(s.topics[topic], string(data))
			s.n++
			c := s.n
			s.mu.Unlock()
			s.count <- c
		})
	}
	return s
}

// waitCount waits until s has received n messages.
func (s *seen) waitCount(t *testing.T, n int) {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case c := <-s.count:
			if c >= n {
				return
			}
		case <-timeout:
			s.mu.Lock()
			defer s.mu.Unlock()
			t.Fatalf("received %d messages, want %d", s.n, n)
		}
	}
}

// TestOutageDelaysAppendsLosesNone: two nodes append to three shared
// topics at once; the NATS server is stopped in the middle of the traffic
// and started again on the same store. Every message reaches both nodes
// exactly once, each node's messages in the order it appended them, each
// topic in the same order on both nodes, and the stored chain of each
// topic has no hole.
func TestOutageDelaysAppendsLosesNone(t *testing.T) {
	dir := t.TempDir()
	ns := natstest.StartJetStream(t, 0, dir)
	port := ns.Addr().(*net.TCPAddr).Port
	limits := pubsub.Limits{PerTopic: 10000}
	nodes := []*node{startNode(t, ns.ClientURL(), limits), startNode(t, ns.ClientURL(), limits)}
	topics := []string{"r0", "r1", "r2"}
	var seens []*seen
	for _, n := range nodes {
		seens = append(seens, listen(n, topics))
	}
	const perNode = 300
	for k, n := range nodes {
		go func() {
			for i := range perNode {
				if err := n.ps.Append(topics[i%3], fmt.Appendf(nil, "%d:%d", k, i), wss.Text); err != nil {
					t.Error(err)
				}
			}
		}()
	}

	seens[0].waitCount(t, 100)
	ns.Shutdown()
	ns.WaitForShutdown()
	waitFor(t, "nodes see the outage", func() bool { return !nodes[0].nc.IsConnected() && !nodes[1].nc.IsConnected() })
	natstest.StartJetStream(t, port, dir)

	for _, s := range seens {
		s.waitCount(t, 2*perNode)
	}
	for _, topic := range topics {
		a, b := seens[0].topics[topic], seens[1].topics[topic]
		if fmt.Sprint(a) != fmt.Sprint(b) {
			t.Fatalf("topic %s: the nodes saw different sequences:\n%v\n%v", topic, a, b)
		}
		next := map[int]int{0: 0, 1: 0}
		for _, m := range a {
			var k, i int
			fmt.Sscanf(m, "%d:%d", &k, &i)
			for next[k] < perNode && topics[next[k]%3] != topic {
				next[k]++
			}
			if i != next[k] {
				t.Fatalf("topic %s: got %s, want %d:%d (each once, in order)", topic, m, k, next[k])
			}
			next[k]++
		}
		msgs, err := nodes[1].store.Since(context.Background(), topic, 0)
		if err != nil || len(msgs) != 2*perNode/3 {
			t.Fatalf("topic %s: %d stored, err %v; want %d", topic, len(msgs), err, 2*perNode/3)
		}
		for j := 1; j < len(msgs); j++ {
			if msgs[j].Prev != msgs[j-1].ID {
				t.Fatalf("topic %s: message %d has prev %d, want %d", topic, msgs[j].ID, msgs[j].Prev, msgs[j-1].ID)
			}
		}
	}
	// Nothing more arrives: a marker appended last comes next.
	nodes[0].ps.Append("r0", []byte("end"), wss.Text)
	for _, s := range seens {
		s.waitCount(t, 2*perNode+1)
		s.mu.Lock()
		if got := s.topics["r0"][len(s.topics["r0"])-1]; got != "end" || s.n != 2*perNode+1 {
			t.Errorf("after the marker: %d messages, last %q", s.n, got)
		}
		s.mu.Unlock()
	}
}

// TestSinceAfterRestartAndGap: the history survives a server restart;
// resuming after a message still kept is complete, after one dropped by
// the per-topic limit is reported as a gap with the kept messages.
func TestSinceAfterRestartAndGap(t *testing.T) {
	dir := t.TempDir()
	ns := natstest.StartJetStream(t, 0, dir)
	port := ns.Addr().(*net.TCPAddr).Port
	n := startNode(t, ns.ClientURL(), pubsub.Limits{PerTopic: 5})
	s := listen(n, []string{"room"})
	for i := range 10 {
		n.ps.Append("room", fmt.Appendf(nil, "m%d", i), wss.Text)
	}
	n.ps.Append("other", []byte("x"), wss.Text)
	// The live feed may miss some of m0..m4 if the limit removed them
	// before it read them; m9 it gets.
	waitFor(t, "m9 delivered", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		r := s.topics["room"]
		return len(r) > 0 && r[len(r)-1] == "m9"
	})
	all, err := n.store.Since(context.Background(), "room", 0)
	if err != nil || len(all) != 5 || string(all[0].Data) != "m5" {
		t.Fatalf("kept %d messages (err %v), want m5..m9", len(all), err)
	}

	ns.Shutdown()
	ns.WaitForShutdown()
	natstest.StartJetStream(t, port, dir)
	waitFor(t, "reconnect", n.nc.IsConnected)

	ctx := context.Background()
	tests := []struct {
		name  string
		after uint64
		first string
		count int
		gap   bool
	}{
		{"after a kept message", all[1].ID, "m7", 3, false},
		{"after a dropped message", all[0].Prev - 1, "m5", 5, true},
		{"after the last", all[4].ID, "", 0, false},
	}
	for _, tt := range tests {
		var msgs []pubsub.Message
		var err error
		waitFor(t, "JetStream back", func() bool {
			msgs, err = n.store.Since(ctx, "room", tt.after)
			return err == nil || errors.Is(err, pubsub.ErrGap)
		})
		if errors.Is(err, pubsub.ErrGap) != tt.gap || len(msgs) != tt.count || (tt.count > 0 && string(msgs[0].Data) != tt.first) {
			t.Fatalf("%s: %d messages from %q, err %v; want %d from %q, gap %v", tt.name, len(msgs), firstData(msgs), err, tt.count, tt.first, tt.gap)
		}
	}
}

func firstData(msgs []pubsub.Message) string {
	if len(msgs) == 0 {
		return ""
	}
	return string(msgs[0].Data)
}

// waitFor polls cond until it holds, for at most 20s: there is no event
// for a NATS connection's state or JetStream's readiness after a restart.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRestartedNodeIsNotADuplicate: a node started again under the same
// name, within the duplicate window, has its appends stored: message IDs
// do not repeat across runs.
func TestRestartedNodeIsNotADuplicate(t *testing.T) {
	ns := natstest.StartJetStream(t, 0, t.TempDir())
	for run := range 2 {
		n := startNamedNode(t, ns.ClientURL(), pubsub.Limits{}, "same")
		s := listen(n, []string{"room"})
		for i := range 3 {
			n.ps.Append("room", fmt.Appendf(nil, "run%d:%d", run, i), wss.Text)
		}
		s.waitCount(t, 3)
		n.ps.Close()
	}
	msgs, err := startNode(t, ns.ClientURL(), pubsub.Limits{}).store.Since(context.Background(), "room", 0)
	if err != nil || len(msgs) != 6 {
		t.Fatalf("%d messages stored (err %v), want 3 of each run", len(msgs), err)
	}
}

// TestOversizedAppendDoesNotHoldUpTheQueue: a message over the server's
// max payload is refused at once, one over the stream's MaxMsgSize is
// dropped by the publisher, and the appends after them are stored.
func TestOversizedAppendDoesNotHoldUpTheQueue(t *testing.T) {
	ns := natstest.StartJetStream(t, 0, t.TempDir())
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	store, err := jsbus.New(context.Background(), nc, &jsbus.Options{MaxMsgSize: 1000, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	ps, err := pubsub.New(&pubsub.Options{Store: store, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer ps.Close()
	n := &node{nc: nc, store: store, ps: ps}
	s := listen(n, []string{"room"})
	if err := ps.Append("room", make([]byte, nc.MaxPayload()), wss.Binary); !errors.Is(err, jsbus.ErrTooBig) {
		t.Fatalf("append over max payload: %v, want ErrTooBig", err)
	}
	if err := ps.Append("room", make([]byte, 2000), wss.Binary); err != nil {
		t.Fatalf("append over the stream's MaxMsgSize: %v, want queued (and dropped)", err)
	}
	ps.Append("room", []byte("after"), wss.Text)
	s.waitCount(t, 1)
	if got := s.topics["room"]; len(got) != 1 || got[0] != "after" {
		t.Fatalf("got %q, want only the message after the oversized ones", got)
	}
}
