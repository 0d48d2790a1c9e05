package pubsub

import (
	"fmt"
	"sync"
	"testing"

	"github.com/wssgo/wss"
)

// TestBusDeliversOnceInPublisherOrder: three nodes on one bus, a
// subscriber on each; every node publishes concurrently. Every subscriber
// gets every message once, each node's messages in the order published.
func TestBusDeliversOnceInPublisherOrder(t *testing.T) {
	bus := NewBus()
	const nodes, perNode = 3, 200
	var pss []*PubSub
	var cols []*collector
	for range nodes {
		ps := newPubSub(t, &Options{Backplane: bus.Node()})
		srv := newServer(t, ps, nil)
		cl, c := srv.dial(t)
		ps.Subscribe(c, "room")
		pss = append(pss, ps)
		cols = append(cols, cl.collect())
	}
	var wg sync.WaitGroup
	for n, ps := range pss {
		wg.Go(func() {
			for i := range perNode {
				if err := ps.Publish("room", fmt.Appendf(nil, "%d:%d", n, i), wss.Text); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	for k, col := range cols {
		next := make([]int, nodes)
		for range nodes * perNode {
			var n, i int
			m := col.next(t)
			if _, err := fmt.Sscanf(m, "%d:%d", &n, &i); err != nil {
				t.Fatal(err)
			}
			if i != next[n] {
				t.Fatalf("subscriber %d: got %q, want %d:%d", k, m, n, next[n])
			}
			next[n]++
		}
		select {
		case m := <-col.got:
			t.Fatalf("subscriber %d: extra message %q", k, m)
		default:
		}
	}
}

func TestBusSkipsNodesWithoutInterest(t *testing.T) {
	bus := NewBus()
	a := newPubSub(t, &Options{Backplane: bus.Node()})
	b := newPubSub(t, &Options{Backplane: bus.Node()})
	var got []string
	stop := b.Listen("x", func(data []byte, _ wss.MessageType) { got = append(got, string(data)) })
	a.Publish("x", []byte("1"), wss.Text)
	stop()
	a.Publish("x", []byte("2"), wss.Text)
	if b.Stats().Received != 1 || len(got) != 1 || got[0] != "1" {
		t.Fatalf("node b received %d, listener got %v; want exactly the message sent while listening", b.Stats().Received, got)
	}
}
