package pubsub

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wssgo/wss"
)

// renderID prefixes each stored message with its ID, as "id|data".
func renderID(m Message) ([]byte, wss.MessageType) {
	return fmt.Appendf(nil, "%d|%s", m.ID, m.Data), m.Type
}

// storedIDs appends n messages "prefix0".. on ps and returns their IDs,
// learnt from a listener on ps.
func storedIDs(t *testing.T, ps *PubSub, topic, prefix string, n int) []uint64 {
	t.Helper()
	got := make(chan string, n)
	stop := ps.Listen(topic, func(data []byte, _ wss.MessageType) { got <- string(data) })
	defer stop()
	for i := range n {
		if err := ps.Append(topic, fmt.Appendf(nil, "%s%d", prefix, i), wss.Text); err != nil {
			t.Fatal(err)
		}
	}
	ids := make([]uint64, 0, n)
	for range n {
		select {
		case m := <-got:
			var id uint64
			fmt.Sscanf(m, "%d|", &id)
			ids = append(ids, id)
		case <-time.After(10 * time.Second):
			t.Fatal("stored message not delivered")
		}
	}
	return ids
}

var introText = &Replay{Intro: func(n int, gap bool) [][]byte { return [][]byte{fmt.Appendf(nil, "intro %d %v", n, gap)} }}

// TestSubscribeFromReplaysWhatWasMissedThenLive: a subscriber resuming
// after message 4 gets 5..9 and then every message appended on another
// node while it was catching up, each once, in order.
func TestSubscribeFromReplaysWhatWasMissedThenLive(t *testing.T) {
	store := NewMemoryStore(Limits{PerTopic: 1000})
	t.Cleanup(func() { store.Close() })
	a := newPubSub(t, &Options{Store: store.Node(), Render: renderID})
	b := newPubSub(t, &Options{Store: store.Node(), Render: renderID})
	ids := storedIDs(t, a, "room", "m", 10)

	srv := newServer(t, b, nil)
	cl, c := srv.dial(t)
	col := cl.collect()
	appended := make(chan error, 1)
	go func() {
		for i := 10; i < 300; i++ {
			if err := a.Append("room", fmt.Appendf(nil, "m%d", i), wss.Text); err != nil {
				appended <- err
				return
			}
		}
		appended <- nil
	}()
	if err := b.SubscribeFrom(context.Background(), c, "room", ids[4], introText); err != nil {
		t.Fatal(err)
	}
	if err := <-appended; err != nil {
		t.Fatal(err)
	}
	if m := col.next(t); !strings.HasPrefix(m, "intro ") || !strings.HasSuffix(m, " false") {
		t.Fatalf("first frame %q, want the intro without a gap", m)
	}
	var last uint64
	for i := 5; i < 300; i++ {
		m := col.next(t)
		var id uint64
		var body string
		fmt.Sscanf(m, "%d|%s", &id, &body)
		if body != fmt.Sprintf("m%d", i) || id <= last {
			t.Fatalf("got %q after id %d, want m%d with a larger id", m, last, i)
		}
		last = id
	}
	a.Append("room", []byte("end"), wss.Text)
	if m := col.next(t); !strings.HasSuffix(m, "|end") {
		t.Fatalf("got %q, want the end marker: a message came twice", m)
	}
}

// TestSubscribeFromReportsAGap: with 3 messages kept per topic, resuming
// after a dropped message gets the kept ones and ErrGap; resuming after a
// kept one, or from 0, is complete.
func TestSubscribeFromReportsAGap(t *testing.T) {
	store := NewMemoryStore(Limits{PerTopic: 3})
	t.Cleanup(func() { store.Close() })
	ps := newPubSub(t, &Options{Store: store.Node(), Render: renderID})
	ids := storedIDs(t, ps, "room", "m", 10)
	tests := []struct {
		name  string
		after uint64
		want  []string
		gap   bool
	}{
		{"after a dropped message", ids[2], []string{"m7", "m8", "m9"}, true},
		{"after a kept message", ids[7], []string{"m8", "m9"}, false},
		{"from the start", 0, []string{"m7", "m8", "m9"}, false},
		{"after the last", ids[9], nil, false},
	}
	srv := newServer(t, ps, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cl, c := srv.dial(t)
			col := cl.collect()
			err := ps.SubscribeFrom(context.Background(), c, "room", tt.after, introText)
			if errors.Is(err, ErrGap) != tt.gap {
				t.Fatalf("error %v, want gap=%v", err, tt.gap)
			}
			if m, want := col.next(t), fmt.Sprintf("intro %d %v", len(tt.want), tt.gap); m != want {
				t.Fatalf("intro %q, want %q", m, want)
			}
			for _, w := range tt.want {
				if m := col.next(t); !strings.HasSuffix(m, "|"+w) {
					t.Fatalf("got %q, want %s", m, w)
				}
			}
		})
	}
}

// TestMemoryStoreKeepsWithinLimits: the byte bound and the age bound drop
// the oldest messages, and topics left empty are forgotten.
func TestMemoryStoreKeepsWithinLimits(t *testing.T) {
	store := NewMemoryStore(Limits{PerTopic: 5, MaxBytes: 1000, MaxAge: time.Minute})
	t.Cleanup(func() { store.Close() })
	now := time.Unix(1000, 0)
	store.mu.Lock()
	store.now = func() time.Time { return now }
	store.mu.Unlock()
	node := store.Node()
	for i := range 1000 {
		store.keep(Message{Topic: fmt.Sprintf("t%d", i), Data: make([]byte, 10), Type: wss.Binary})
	}
	if b, n := store.Bytes(), len(store.topics); b != 1000 || n != 100 {
		t.Fatalf("after 1000 topics of 10 bytes: %d bytes in %d topics, want 1000 in 100", b, n)
	}
	for i := range 20 {
		store.keep(Message{Topic: "one", Data: []byte{byte(i)}, Type: wss.Binary})
	}
	if msgs, _ := node.Since(context.Background(), "one", 0); len(msgs) != 5 || msgs[0].Data[0] != 15 {
		t.Fatalf("topic holds %d messages, want the last 5", len(msgs))
	}
	now = now.Add(2 * time.Minute)
	if msgs, _ := node.Since(context.Background(), "one", 0); len(msgs) != 0 {
		t.Fatalf("%d messages older than MaxAge still kept", len(msgs))
	}
	if b, n := store.Bytes(), len(store.topics); b != 0 || n != 0 {
		t.Fatalf("after MaxAge: %d bytes in %d topics, want none", b, n)
	}
}

// TestCloseWhenSentWritesTheQueueFirst: the messages queued before
// CloseWhenSent reach the peer, then the close with its code.
func TestCloseWhenSentWritesTheQueueFirst(t *testing.T) {
	ps := newPubSub(t, nil)
	srv := newServer(t, ps, nil)
	cl, c := srv.dial(t)
	for i := range 3 {
		ps.Send(c, fmt.Appendf(nil, "m%d", i), wss.Text)
	}
	ps.CloseWhenSent(c, 1008)
	data, code, err := cl.readUntilClose()
	if err != nil || len(data) != 3 || string(data[2].Payload) != "m2" || code != 1008 {
		t.Fatalf("got %d messages then close %d (err %v), want m0..m2 then 1008", len(data), code, err)
	}
}

// fakeStore replays msgs and delivers only what the test hands it.
type fakeStore struct {
	deliver func(Message)
	msgs    []Message
}

func (f *fakeStore) Start(d func(Message)) error                  { f.deliver = d; return nil }
func (f *fakeStore) Append(string, []byte, wss.MessageType) error { return nil }
func (f *fakeStore) Since(context.Context, string, uint64) ([]Message, error) {
	return f.msgs, nil
}
func (f *fakeStore) Close() error { return nil }

func fakeMessage(id uint64) Message {
	return Message{Topic: "room", ID: id, Prev: id - 1, Data: fmt.Appendf(nil, "m%d", id), Type: wss.Text}
}

// TestSubscribeFromSkipsWhatTheReplayHad: this node's delivery of stored
// messages lags the store; messages the replay had already, whether they
// arrive while the replay is read or after it, are not sent again.
func TestSubscribeFromSkipsWhatTheReplayHad(t *testing.T) {
	store := &fakeStore{msgs: []Message{fakeMessage(1), fakeMessage(2), fakeMessage(3)}}
	ps := newPubSub(t, &Options{Store: store})
	srv := newServer(t, ps, nil)
	cl, c := srv.dial(t)
	col := cl.collect()
	r := &Replay{
		Subscribed: func() { store.deliver(fakeMessage(2)) }, // held, then dropped
		Intro:      introText.Intro,
	}
	if err := ps.SubscribeFrom(context.Background(), c, "room", 0, r); err != nil {
		t.Fatal(err)
	}
	store.deliver(fakeMessage(3)) // live, but replayed already
	store.deliver(fakeMessage(4))
	for _, want := range []string{"intro 3 false", "m1", "m2", "m3", "m4"} {
		if m := col.next(t); m != want {
			t.Fatalf("got %q, want %q", m, want)
		}
	}
	ps.Send(c, []byte("end"), wss.Text)
	if m := col.next(t); m != "end" {
		t.Fatalf("got %q, want the end marker: a message came twice", m)
	}
}
