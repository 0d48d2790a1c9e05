package natsbus_test

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/wssgo/wss"
	"github.com/wssgo/wss/internal/natstest"
	"github.com/wssgo/wss/internal/wstest"
	"github.com/wssgo/wss/pubsub"
	"github.com/wssgo/wss/pubsub/natsbus"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// node is one server: a PubSub on a NATS backplane and an HTTP server
// whose connections subscribe to "room".
type node struct {
	ps  *pubsub.PubSub
	bus *natsbus.Bus
	url string
}

func startNode(t *testing.T, natsURL string) *node {
	t.Helper()
	bus, err := natsbus.Connect(natsURL, &natsbus.Options{Logger: quiet, ReconnectWait: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ps, err := pubsub.New(&pubsub.Options{Backplane: bus, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ps.Close() })
	n := &node{ps: ps, bus: bus}
	h := ps.Handler(wss.HandlerFuncs{
		Open:  func(c *wss.Conn) { ps.Subscribe(c, "room") },
		Frame: func(*wss.Conn, []byte, bool) {},
	})
	srv := httptest.NewServer(wss.HTTPHandler(nil, nil, func(*wss.Request) (wss.Handler, error) { return h, nil }))
	t.Cleanup(srv.Close)
	n.url = srv.URL
	return n
}

// join connects a client to n and waits until it is subscribed, and the
// subscription has reached the NATS server.
func (n *node) join(t *testing.T) *wstest.Client {
	t.Helper()
	cl, err := wstest.Dial(n.url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	for n.ps.Subscribers("room") == 0 {
		time.Sleep(time.Millisecond)
	}
	if err := n.bus.Flush(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	return cl
}

func readText(t *testing.T, cl *wstest.Client) string {
	t.Helper()
	cl.Conn().SetReadDeadline(time.Now().Add(10 * time.Second))
	f, err := cl.Read()
	if err != nil {
		t.Fatal(err)
	}
	return string(f.Payload)
}

// TestEveryNodeGetsEveryMessageOnceInOrder: three nodes, one client each,
// all publishing at once through a real NATS server.
func TestEveryNodeGetsEveryMessageOnceInOrder(t *testing.T) {
	ns := natstest.Start(t, 0)
	const nodes, perNode = 3, 300
	var nodeList []*node
	var clients []*wstest.Client
	for range nodes {
		n := startNode(t, ns.ClientURL())
		nodeList = append(nodeList, n)
		clients = append(clients, n.join(t))
	}
	var wg sync.WaitGroup
	for k, n := range nodeList {
		wg.Go(func() {
			for i := range perNode {
				if err := n.ps.Publish("room", fmt.Appendf(nil, "%d:%d", k, i), true); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	for c, cl := range clients {
		next := make([]int, nodes)
		for range nodes * perNode {
			m := readText(t, cl)
			var k, i int
			if _, err := fmt.Sscanf(m, "%d:%d", &k, &i); err != nil {
				t.Fatal(err)
			}
			if i != next[k] {
				t.Fatalf("client %d: got %q, want %d:%d", c, m, k, next[k])
			}
			next[k]++
		}
	}
	// Nothing more: a marker published last arrives next, no duplicate
	// before it.
	nodeList[0].ps.Publish("room", []byte("end"), true)
	for c, cl := range clients {
		if m := readText(t, cl); m != "end" {
			t.Fatalf("client %d: extra message %q", c, m)
		}
	}
}

// TestBrokerOutageKeepsLocalDelivery: with the NATS server down, local
// subscribers still get messages; when it is back, nodes share again.
func TestBrokerOutageKeepsLocalDelivery(t *testing.T) {
	ns := natstest.Start(t, 0)
	port := ns.Addr().(*net.TCPAddr).Port
	a := startNode(t, ns.ClientURL())
	b := startNode(t, ns.ClientURL())
	ca, cb := a.join(t), b.join(t)
	a.ps.Publish("room", []byte("before"), true)
	if readText(t, ca) != "before" || readText(t, cb) != "before" {
		t.Fatal("message before the outage not delivered to both nodes")
	}

	ns.Shutdown()
	ns.WaitForShutdown()
	waitFor(t, "nodes see the outage", func() bool {
		return !a.bus.Conn().IsConnected() && !b.bus.Conn().IsConnected()
	})
	a.ps.Publish("room", []byte("during"), true)
	if m := readText(t, ca); m != "during" {
		t.Fatalf("local subscriber got %q during the outage, want %q", m, "during")
	}

	natstest.Start(t, port)
	waitFor(t, "nodes reconnect", func() bool {
		return a.bus.Conn().IsConnected() && b.bus.Conn().IsConnected()
	})
	if err := b.bus.Flush(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	a.ps.Publish("room", []byte("after"), true)
	if m := readText(t, ca); m != "after" {
		t.Fatalf("local subscriber got %q, want %q", m, "after")
	}
	// The remote node may get the message buffered during the outage
	// (once), then the one after it.
	m := readText(t, cb)
	if m == "during" {
		m = readText(t, cb)
	}
	if m != "after" {
		t.Fatalf("remote subscriber got %q after the outage, want %q", m, "after")
	}
}

// waitFor polls cond until it holds, for at most 10s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestAnyTopicNameIsCarried: topic names that are not valid NATS subjects
// (spaces, dots, wildcards, empty, non-ASCII) reach the other node intact,
// and only the node's own topics are delivered.
func TestAnyTopicNameIsCarried(t *testing.T) {
	ns := natstest.Start(t, 0)
	a, b := startNode(t, ns.ClientURL()), startNode(t, ns.ClientURL())
	names := []string{"", "a b", "x.y.z", "*", ">", "room/ünï", "room/ünï2"}
	got := make(chan string, len(names))
	for _, name := range names[:len(names)-1] {
		stop := b.ps.Listen(name, func(data []byte, text bool) {
			if string(data) != name || !text {
				t.Errorf("topic %q got %q text=%v", name, data, text)
			}
			got <- name
		})
		defer stop()
	}
	if err := b.bus.Flush(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		a.ps.Publish(name, []byte(name), true)
	}
	a.ps.Publish("", []byte(""), true)
	for range len(names) {
		select {
		case name := <-got:
			if name == "room/ünï2" {
				t.Fatal("a topic node b does not listen to was delivered")
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a message did not arrive")
		}
	}
}
