package pubsub

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wssgo/wss"
)

func newPubSub(t testing.TB, opts *Options) *PubSub {
	t.Helper()
	ps, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ps.Close() })
	return ps
}

func TestPublishReachesSubscribersOfTheTopicOnly(t *testing.T) {
	ps := newPubSub(t, nil)
	srv := newServer(t, ps, nil)
	var inA []*client
	for range 3 {
		cl, c := srv.dial(t)
		ps.Subscribe(c, "a")
		ps.Subscribe(c, "a") // twice is once
		inA = append(inA, cl)
	}
	clB, cB := srv.dial(t)
	ps.Subscribe(cB, "b")
	if n := ps.Subscribers("a"); n != 3 {
		t.Fatalf("Subscribers(a) = %d, want 3", n)
	}

	ps.Publish("a", []byte("hello"), wss.Text)
	ps.Publish("b", []byte{1, 2, 3}, wss.Binary)

	want := []byte("\x81\x05hello") // one text frame, FIN set, unmasked
	for i, cl := range inA {
		f, err := cl.Read()
		if err != nil {
			t.Fatal(err)
		}
		if f.Op != 1 || string(f.Payload) != "hello" {
			t.Errorf("subscriber %d got op %d %q, want text %q", i, f.Op, f.Payload, want[2:])
		}
	}
	f, err := clB.Read()
	if err != nil {
		t.Fatal(err)
	}
	if f.Op != 2 || !bytes.Equal(f.Payload, []byte{1, 2, 3}) {
		t.Errorf("topic b got op %d %x, want binary 010203", f.Op, f.Payload)
	}
}

func TestPublishRejectsInvalidUTF8Text(t *testing.T) {
	ps := newPubSub(t, nil)
	srv := newServer(t, ps, nil)
	_, c := srv.dial(t)
	ps.Subscribe(c, "a")
	if err := ps.Publish("a", []byte{0xff}, wss.Text); err == nil {
		t.Fatal("Publish of invalid UTF-8 text succeeded")
	}
}

func TestMessagesArriveInPublishOrder(t *testing.T) {
	ps := newPubSub(t, nil)
	srv := newServer(t, ps, nil)
	cl, c := srv.dial(t)
	ps.Subscribe(c, "a")
	col := cl.collect()
	const n = 500
	for i := range n {
		ps.Publish("a", []byte(strconv.Itoa(i)), wss.Text)
	}
	for i := range n {
		if m := col.next(t); m != strconv.Itoa(i) {
			t.Fatalf("message %d is %q", i, m)
		}
	}
}

func TestUnsubscribeStopsDelivery(t *testing.T) {
	ps := newPubSub(t, nil)
	srv := newServer(t, ps, nil)
	cl, c := srv.dial(t)
	ps.Subscribe(c, "a")
	ps.Subscribe(c, "b")
	ps.Unsubscribe(c, "a")
	ps.Publish("a", []byte("not for you"), wss.Text)
	ps.Publish("b", []byte("for you"), wss.Text)
	f, err := cl.Read()
	if err != nil {
		t.Fatal(err)
	}
	if string(f.Payload) != "for you" {
		t.Fatalf("got %q, want %q", f.Payload, "for you")
	}
	if n := ps.Subscribers("a"); n != 0 {
		t.Fatalf("Subscribers(a) = %d after Unsubscribe", n)
	}
}

func TestClosedConnectionLeavesAllTopics(t *testing.T) {
	ps := newPubSub(t, nil)
	srv := newServer(t, ps, nil)
	cl, c := srv.dial(t)
	for _, name := range []string{"a", "b", "c"} {
		ps.Subscribe(c, name)
	}
	if err := cl.SendClose(int(wss.StatusGoingAway)); err != nil {
		t.Fatal(err)
	}
	if status := <-srv.ended; status != wss.StatusGoingAway {
		t.Fatalf("OnClose status %d, want 1001", status)
	}
	for _, name := range []string{"a", "b", "c"} {
		if n := ps.Subscribers(name); n != 0 {
			t.Errorf("Subscribers(%s) = %d after close", name, n)
		}
	}
	if topics := ps.Topics(c); topics != nil {
		t.Errorf("Topics = %v after close", topics)
	}
}

func TestSendKeepsOrderWithPublish(t *testing.T) {
	ps := newPubSub(t, nil)
	srv := newServer(t, ps, nil)
	cl, c := srv.dial(t)
	ps.Subscribe(c, "a")
	col := cl.collect()
	for i := range 100 {
		if i%2 == 0 {
			ps.Publish("a", []byte(strconv.Itoa(i)), wss.Text)
		} else {
			ps.Send(c, []byte(strconv.Itoa(i)), wss.Text)
		}
	}
	for i := range 100 {
		if m := col.next(t); m != strconv.Itoa(i) {
			t.Fatalf("message %d is %q", i, m)
		}
	}
}

func TestListenSeesEveryMessage(t *testing.T) {
	ps := newPubSub(t, nil)
	var got []string
	stop := ps.Listen("a", func(data []byte, typ wss.MessageType) { got = append(got, string(data)) })
	ps.Publish("a", []byte("1"), wss.Text)
	ps.Publish("b", []byte("x"), wss.Text)
	ps.Publish("a", []byte("2"), wss.Text)
	stop()
	ps.Publish("a", []byte("3"), wss.Text)
	if strings.Join(got, ",") != "1,2" {
		t.Fatalf("listener got %v, want [1 2]", got)
	}
}

// subscribeReaders dials n clients that read everything, subscribed to
// topic, and returns what they read.
func subscribeReaders(t *testing.T, srv *server, ps *PubSub, topic string, n int) []*collector {
	t.Helper()
	var cols []*collector
	for range n {
		cl, c := srv.dial(t)
		ps.Subscribe(c, topic)
		cols = append(cols, cl.collect())
	}
	return cols
}

// slowConsumer sets up one subscriber that reads nothing and two that read
// everything, publishes numbered 32 KiB messages, waiting for the readers
// to get each one, until stop says enough. It returns the slow client and
// the number of messages published.
func slowConsumer(t *testing.T, ps *PubSub, stop func(slowConn *wss.Conn) bool) (slow *client, slowConn *wss.Conn, published int) {
	srv := newServer(t, ps, nil)
	slow, slowConn = srv.dial(t)
	ps.Subscribe(slowConn, "t")
	fast := subscribeReaders(t, srv, ps, "t", 2)
	pad := strings.Repeat(".", 32<<10)
	for i := 0; !stop(slowConn); i++ {
		if i == 10000 {
			t.Fatal("10000 messages published and the slow subscriber is still fine")
		}
		msg := fmt.Sprintf("%06d%s", i, pad)
		if err := ps.Publish("t", []byte(msg), wss.Text); err != nil {
			t.Fatal(err)
		}
		for k, col := range fast {
			if m := col.next(t); m != msg {
				t.Fatalf("fast subscriber %d: message %d is %.6q", k, i, m)
			}
		}
		published++
	}
	return slow, slowConn, published
}

func TestSlowSubscriberIsClosedWithoutStallingOthers(t *testing.T) {
	ps := newPubSub(t, &Options{MaxQueueMessages: 16, CloseCode: wss.StatusTryAgainLater})
	sawBuffered := false
	slow, _, n := slowConsumer(t, ps, func(slowConn *wss.Conn) bool {
		if ps.Stats().Overflowed > 0 {
			return true
		}
		if m, b := ps.Buffered(slowConn); m > 1 && b > 32<<10 {
			sawBuffered = true
		}
		return false
	})
	if !sawBuffered {
		t.Error("Buffered never showed the slow subscriber's queue")
	}
	if ps.Subscribers("t") != 2 {
		t.Fatalf("Subscribers = %d after overflow, want 2", ps.Subscribers("t"))
	}
	// Reading now lets the write in progress end; then the close follows.
	data, code, err := slow.readUntilClose()
	if err != nil {
		t.Fatalf("slow subscriber: %v after %d messages", err, len(data))
	}
	if code != int(wss.StatusTryAgainLater) {
		t.Fatalf("close code %d, want 1013", code)
	}
	if len(data) == 0 || len(data) >= n {
		t.Fatalf("slow subscriber got %d of %d messages, want a strict prefix", len(data), n)
	}
	for i, f := range data {
		if want := fmt.Sprintf("%06d", i); string(f.Payload[:6]) != want {
			t.Fatalf("slow subscriber message %d is %.6q", i, f.Payload)
		}
	}
}

// A subscriber whose writes wait for the peer (goroutine mode) and whose
// peer reads nothing holds one of the Writers, and no other subscriber:
// the rest get the message while its write waits (pubsub.go). A writer
// used to take a share of the line at once, and the subscribers after the
// stuck one in its share waited for its WriteTimeout.
func TestStuckSubscriberHoldsOneWriterOnly(t *testing.T) {
	ps := newPubSub(t, &Options{Writers: 2})
	srv := newServerIn(t, ps, &wss.Config{WriteTimeout: time.Minute}, wss.ModeGoroutine)
	_, stuck := srv.dial(t) // never reads
	ps.Subscribe(stuck, "t")
	readers := subscribeReaders(t, srv, ps, "t", 9)
	msg := strings.Repeat("x", 16<<20) // more than loopback's socket buffers hold: the stuck write waits
	if err := ps.Publish("t", []byte(msg), wss.Text); err != nil {
		t.Fatal(err)
	}
	for k, col := range readers {
		if m := col.next(t); m != msg {
			t.Fatalf("subscriber %d got %d bytes, want the %d-byte message", k, len(m), len(msg))
		}
	}
}

func TestSlowSubscriberDropsUnderDropPolicy(t *testing.T) {
	ps := newPubSub(t, &Options{MaxQueueMessages: 16, Overflow: OverflowDrop})
	slow, slowConn, n := slowConsumer(t, ps, func(*wss.Conn) bool { return ps.Stats().Dropped >= 20 })
	if m, b := ps.Buffered(slowConn); m != 16 || b < 16*(32<<10) {
		t.Fatalf("Buffered = %d messages, %d bytes; want 16 and at least %d", m, b, 16*(32<<10))
	}
	if ps.Subscribers("t") != 3 {
		t.Fatalf("Subscribers = %d, want 3: dropping keeps the subscriber", ps.Subscribers("t"))
	}
	// The slow subscriber now reads; once its queue is empty, it gets new
	// messages again, as the connection stays open.
	col := slow.collect()
	deadline := time.Now().Add(10 * time.Second)
	for m, _ := ps.Buffered(slowConn); m > 0; m, _ = ps.Buffered(slowConn) {
		if time.Now().After(deadline) {
			t.Fatalf("slow subscriber's queue still holds %d messages", m)
		}
		time.Sleep(time.Millisecond)
	}
	ps.Publish("t", []byte("last"), wss.Text)
	prev := -1
	for {
		m := col.next(t)
		if m == "last" {
			break
		}
		i, err := strconv.Atoi(m[:6])
		if err != nil || i != prev+1 {
			t.Fatalf("message %.6q after %d: want the messages before the drops, in order", m, prev)
		}
		prev = i
	}
	if prev >= n-1 {
		t.Fatalf("slow subscriber got all %d messages, want the last ones dropped", n)
	}
}

// TestHandlerKeepsOptionalMethods checks that the wrapper returned by
// Handler calls the wrapped handler's optional OnOpen, OnPing, OnPong and
// OnDrain.
func TestHandlerKeepsOptionalMethods(t *testing.T) {
	ps := newPubSub(t, nil)
	called := make(chan string, 4)
	h := ps.Handler(wss.HandlerFuncs{
		Open:  func(*wss.Conn) { called <- "open" },
		Frame: func(c *wss.Conn, data []byte, typ wss.MessageType) {},
		Ping:  func(_ *wss.Conn, data []byte) { called <- "ping " + string(data) },
		Pong:  func(_ *wss.Conn, data []byte, rtt time.Duration) { called <- fmt.Sprintf("pong %s %v", data, rtt) },
		Drain: func(*wss.Conn) { called <- "drain" },
	})
	calls := []struct {
		name string
		call func() bool // false when h lacks the method
		want string
	}{
		{"OnOpen", func() bool {
			oh, ok := h.(wss.OpenHandler)
			if ok {
				oh.OnOpen(nil)
			}
			return ok
		}, "open"},
		{"OnPing", func() bool {
			ph, ok := h.(wss.PingHandler)
			if ok {
				ph.OnPing(nil, []byte("hi"))
			}
			return ok
		}, "ping hi"},
		{"OnPong", func() bool {
			ph, ok := h.(wss.PongHandler)
			if ok {
				ph.OnPong(nil, []byte("hi"), 5*time.Millisecond)
			}
			return ok
		}, "pong hi 5ms"},
		{"OnDrain", func() bool {
			dh, ok := h.(wss.DrainHandler)
			if ok {
				dh.OnDrain(nil)
			}
			return ok
		}, "drain"},
	}
	for _, c := range calls {
		if !c.call() {
			t.Errorf("Handler's result has no %s", c.name)
			continue
		}
		select {
		case got := <-called:
			if got != c.want {
				t.Errorf("%s: the wrapped handler got %q, want %q", c.name, got, c.want)
			}
		default:
			t.Errorf("the wrapped %s was not called", c.name)
		}
	}
}
