// Package jsbus is a pubsub.Store on NATS JetStream: durable topics whose
// recent messages are kept by the NATS servers and shared by every node.
//
// Each topic is a subject, Prefix + ".t" + the topic name in unpadded
// base64url, in one stream (Options.Stream) holding Prefix + ".>", with
// per-subject limits (the last Limits.PerTopic messages of each topic),
// stream-wide bounds in bytes and age, oldest first out. A message is its
// payload behind one byte, 't' for text or 'b' for binary; its Prev (the ID
// of the message before it in its topic, see pubsub.Message) travels in a
// header. A message's ID is its stream sequence.
//
// Appends are queued and published by one goroutine in order, each waiting
// for JetStream's acknowledgement and retried, with the same message ID,
// until acknowledged: an outage delays them and loses none, and the
// stream's duplicate window (Options.Duplicates) drops a retry of a message
// already stored. Each publish expects the topic's last sequence to be the
// message's Prev, so the chain of a topic's messages is exact even when
// several nodes append to it at once (a conflict is retried after reading
// the topic's last sequence).
//
// Delivery to a node is an ordered consumer over the whole stream, from the
// stream's end when Start is called: every message once, in stream order.
// After a disconnection it is recreated from the last sequence delivered,
// so nothing is skipped or repeated. One bound: a message the stream's
// limits remove before a lagging node has read it (a burst of more than
// Limits.PerTopic messages in one topic) is not delivered to that node;
// a subscriber resuming across it is told of the gap (ErrGap).
package jsbus

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wssgo/wss"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/wssgo/wss/pubsub"
)

// prevHeader carries a message's Prev.
const prevHeader = "Wss-Prev"

// Options holds the settings of a Store; the zero value (or nil) uses the
// defaults.
type Options struct {
	// Stream names the JetStream stream; "WSS" if empty. Nodes that share
	// topics use the same stream and prefix.
	Stream string
	// Prefix starts every subject; "wss.s" if empty.
	Prefix string
	// Limits bound what the stream keeps: PerTopic is its per-subject
	// limit, MaxBytes and MaxAge apply to the whole stream.
	Limits pubsub.Limits
	// MaxMsgSize bounds one message, in bytes; no bound if zero.
	MaxMsgSize int32
	// Storage is where the servers keep the stream: file (the default) or
	// memory.
	Storage jetstream.StorageType
	// Replicas is the stream's replica count in a cluster; 1 if zero.
	Replicas int
	// Duplicates is the window within which a retried append is recognised
	// and dropped; 2 minutes if zero. An outage longer than that may store
	// an append twice.
	Duplicates time.Duration
	// QueueLen bounds the appends waiting to be stored; 65536 if zero.
	QueueLen int
	// RetryWait is the pause between attempts of a failed append; 200ms if
	// zero. Timeout bounds one attempt; 2s if zero.
	RetryWait, Timeout time.Duration
	// Node names this node in message IDs (with a random part per run).
	Node string
	// Logger receives errors and outages; nil means slog.Default().
	Logger *slog.Logger
}

// Store is a pubsub.Store on a JetStream stream. Safe for concurrent use.
type Store struct {
	o      Options
	log    *slog.Logger
	nc     *nats.Conn
	js     jetstream.JetStream
	stream jetstream.Stream
	out    chan appendReq
	stop   chan struct{}
	ended  chan struct{}
	runID  string // this run's part of message IDs
	seq    uint64 // appends queued, for message IDs; guarded by mu

	mu      sync.Mutex
	closed  bool
	consume jetstream.ConsumeContext

	last map[string]uint64 // topic -> last sequence known; publisher goroutine only
}

type appendReq struct {
	topic string
	data  []byte
	id    string
}

// New creates or updates the stream on the JetStream reached through nc
// and returns a Store using it. It fails if JetStream does not answer
// before ctx ends.
func New(ctx context.Context, nc *nats.Conn, opts *Options) (*Store, error) {
	s := &Store{nc: nc, stop: make(chan struct{}), ended: make(chan struct{}), last: make(map[string]uint64)}
	if opts != nil {
		s.o = *opts
	}
	o := &s.o
	o.Stream = cmpOr(o.Stream, "WSS")
	o.Prefix = cmpOr(o.Prefix, "wss.s")
	o.Duplicates = cmpOr(o.Duplicates, 2*time.Minute)
	o.QueueLen = cmpOr(o.QueueLen, 65536)
	o.RetryWait = cmpOr(o.RetryWait, 200*time.Millisecond)
	o.Timeout = cmpOr(o.Timeout, 2*time.Second)
	o.Replicas = cmpOr(o.Replicas, 1)
	// Message IDs must not repeat across runs of a node (a restart within
	// the duplicate window would have its appends dropped as duplicates):
	// each run adds a random part.
	var run [6]byte
	rand.Read(run[:])
	s.runID = cmpOr(o.Node, "node") + "-" + hex.EncodeToString(run[:])
	s.log = cmpOr(o.Logger, slog.Default())
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("jsbus: %w", err)
	}
	s.js = js
	cfg := jetstream.StreamConfig{
		Name:              o.Stream,
		Subjects:          []string{o.Prefix + ".>"},
		Storage:           o.Storage,
		Replicas:          o.Replicas,
		Discard:           jetstream.DiscardOld,
		MaxMsgsPerSubject: int64(cmpOr(o.Limits.PerTopic, -1)),
		MaxBytes:          cmpOr(o.Limits.MaxBytes, -1),
		MaxAge:            o.Limits.MaxAge,
		MaxMsgSize:        cmpOr(o.MaxMsgSize, -1),
		Duplicates:        o.Duplicates,
		AllowDirect:       true,
	}
	if s.stream, err = createStream(ctx, js, cfg, o.RetryWait); err != nil {
		return nil, fmt.Errorf("jsbus: stream %s: %w", o.Stream, err)
	}
	s.out = make(chan appendReq, o.QueueLen)
	go s.publisher()
	return s, nil
}

// createStream creates or updates the stream, trying again until ctx
// ends: nodes starting together race to create it, and a cluster may
// not answer the first attempt (seen with nats-server 2.9).
func createStream(ctx context.Context, js jetstream.JetStream, cfg jetstream.StreamConfig, wait time.Duration) (jetstream.Stream, error) {
	for {
		attempt, cancel := context.WithTimeout(ctx, 3*time.Second)
		st, err := js.CreateOrUpdateStream(attempt, cfg)
		cancel()
		if err == nil {
			return st, nil
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(wait):
		}
	}
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Start implements pubsub.Store.
func (s *Store) Start(deliver func(pubsub.Message)) error {
	ctx, cancel := context.WithTimeout(context.Background(), s.o.Timeout)
	defer cancel()
	info, err := s.stream.Info(ctx)
	if err != nil {
		return fmt.Errorf("jsbus: stream %s: %w", s.o.Stream, err)
	}
	cons, err := s.stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:   info.State.LastSeq + 1,
	})
	if err != nil {
		return fmt.Errorf("jsbus: consumer: %w", err)
	}
	cc, err := cons.Consume(func(msg jetstream.Msg) {
		m, err := s.decode(msg)
		if err != nil {
			s.log.Warn("jsbus: malformed message ignored", "subject", msg.Subject(), "err", err)
			return
		}
		deliver(m)
	}, jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
		s.log.Debug("jsbus: consumer", "err", err)
	}))
	if err != nil {
		return fmt.Errorf("jsbus: consume: %w", err)
	}
	s.mu.Lock()
	s.consume = cc
	s.mu.Unlock()
	return nil
}

// ErrTooBig is returned by Append for a message the NATS server would
// refuse (over its max_payload, with room for the headers).
var ErrTooBig = errors.New("jsbus: message over the server's max payload")

// headerRoom is what the headers and subject of a message may take.
const headerRoom = 1024

// Append implements pubsub.Store. A message the server could never take
// is refused at once (ErrTooBig), so that it cannot hold up the queue.
func (s *Store) Append(topic string, data []byte, typ wss.MessageType) error {
	if max := s.nc.MaxPayload(); max > 0 && int64(1+len(data)+headerRoom) > max {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrTooBig, len(data), max-1-headerRoom)
	}
	msg := make([]byte, 1+len(data))
	msg[0] = 'b'
	if typ == wss.Text {
		msg[0] = 't'
	}
	copy(msg[1:], data)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return pubsub.ErrClosed
	}
	s.seq++
	select {
	case s.out <- appendReq{topic: topic, data: msg, id: s.runID + "-" + strconv.FormatUint(s.seq, 10)}:
		return nil
	default:
		return pubsub.ErrStoreFull
	}
}

// Pending returns the appends not yet acknowledged by JetStream.
func (s *Store) Pending() int { return len(s.out) }

// publisher stores the queued appends one at a time, in order. Once the
// Store is closed it gives what is queued a second.
func (s *Store) publisher() {
	defer close(s.ended)
	for {
		select {
		case r := <-s.out:
			s.publish(r, nil)
		case <-s.stop:
			deadline := time.After(time.Second)
			for {
				select {
				case r := <-s.out:
					s.publish(r, deadline)
				default:
					return
				}
			}
		}
	}
}

// publish retries r until JetStream acknowledges it, or until giveUp.
func (s *Store) publish(r appendReq, giveUp <-chan time.Time) {
	subject := s.subject(r.topic)
	for attempt := 0; ; attempt++ {
		err := s.tryPublish(r, subject)
		if err == nil {
			if attempt > 2 {
				s.log.Info("jsbus: append stored after retries", "topic", r.topic, "attempts", attempt+1)
			}
			return
		}
		delete(s.last, r.topic) // it may have been stored: read it again
		if isWrongLast(err) {
			continue
		}
		if permanent(err) {
			s.log.Error("jsbus: append refused by the server, dropped", "topic", r.topic, "bytes", len(r.data), "err", err)
			return
		}
		if attempt == 2 {
			s.log.Warn("jsbus: append not acknowledged, retrying", "topic", r.topic, "err", err)
		}
		select {
		case <-giveUp:
			s.log.Error("jsbus: append given up at close", "topic", r.topic, "err", err)
			return
		case <-time.After(s.o.RetryWait):
		}
	}
}

func (s *Store) tryPublish(r appendReq, subject string) error {
	ctx, cancel := context.WithTimeout(context.Background(), s.o.Timeout)
	defer cancel()
	prev, ok := s.last[r.topic]
	if !ok {
		var err error
		if prev, err = s.lastOf(ctx, subject); err != nil {
			return err
		}
	}
	m := &nats.Msg{Subject: subject, Data: r.data, Header: nats.Header{}}
	m.Header.Set(prevHeader, strconv.FormatUint(prev, 10))
	ack, err := s.js.PublishMsg(ctx, m, jetstream.WithMsgID(r.id), jetstream.WithExpectLastSequencePerSubject(prev))
	if err != nil {
		return err
	}
	if len(s.last) > 4096 {
		clear(s.last) // a cache: bounded, refilled on demand
	}
	if !ack.Duplicate {
		s.last[r.topic] = ack.Sequence
	}
	return nil
}

// lastOf returns the sequence of subject's last message, 0 if none.
func (s *Store) lastOf(ctx context.Context, subject string) (uint64, error) {
	m, err := s.stream.GetLastMsgForSubject(ctx, subject)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return m.Sequence, nil
}

// permanent reports errors a retry cannot fix.
func permanent(err error) bool {
	var apiErr *jetstream.APIError
	return errors.Is(err, nats.ErrMaxPayload) || errors.Is(err, nats.ErrBadSubject) ||
		(errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamMessageExceedsMaximum)
}

func isWrongLast(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) &&
		(apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
			apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}

// Since implements pubsub.Store: an ephemeral consumer filtered on the
// topic reads what the stream keeps of it after after.
func (s *Store) Since(ctx context.Context, topic string, after uint64) ([]pubsub.Message, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
	}
	// Most topics asked for have nothing new (a new room, a page that saw
	// everything): one direct read of the last message says so.
	last, err := s.lastOf(ctx, s.subject(topic))
	if err != nil {
		return nil, fmt.Errorf("jsbus: history of %q: %w", topic, err)
	}
	if last <= after {
		return nil, nil
	}
	cfg := jetstream.ConsumerConfig{
		FilterSubject:     s.subject(topic),
		AckPolicy:         jetstream.AckNonePolicy,
		MemoryStorage:     true,
		InactiveThreshold: time.Minute,
	}
	if after > 0 {
		cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		cfg.OptStartSeq = after + 1
	}
	cons, err := s.stream.CreateConsumer(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("jsbus: history of %q: %w", topic, err)
	}
	defer s.deleteConsumer(cons.CachedInfo().Name)
	n := cons.CachedInfo().NumPending
	if n == 0 {
		return nil, nil
	}
	deadline, _ := ctx.Deadline()
	batch, err := cons.Fetch(int(n), jetstream.FetchMaxWait(time.Until(deadline)))
	if err != nil {
		return nil, fmt.Errorf("jsbus: history of %q: %w", topic, err)
	}
	msgs := make([]pubsub.Message, 0, n)
	for msg := range batch.Messages() {
		m, err := s.decode(msg)
		if err != nil {
			continue
		}
		msgs = append(msgs, m)
		if meta, _ := msg.Metadata(); meta != nil && meta.NumPending == 0 {
			break
		}
	}
	if len(msgs) == 0 && batch.Error() != nil {
		return nil, fmt.Errorf("jsbus: history of %q: %w", topic, batch.Error())
	}
	return msgs, pubsub.CheckRun(after, msgs)
}

func (s *Store) deleteConsumer(name string) {
	ctx, cancel := context.WithTimeout(context.Background(), s.o.Timeout)
	defer cancel()
	_ = s.stream.DeleteConsumer(ctx, name)
}

// Close implements pubsub.Store. It does not close the NATS connection.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	cc := s.consume
	s.mu.Unlock()
	if cc != nil {
		cc.Stop()
	}
	close(s.stop)
	<-s.ended
	return nil
}

func (s *Store) decode(msg jetstream.Msg) (pubsub.Message, error) {
	topic, ok := s.topic(msg.Subject())
	data := msg.Data()
	if !ok || len(data) == 0 {
		return pubsub.Message{}, errors.New("not a topic message")
	}
	meta, err := msg.Metadata()
	if err != nil {
		return pubsub.Message{}, err
	}
	prev, _ := strconv.ParseUint(msg.Headers().Get(prevHeader), 10, 64)
	return pubsub.Message{Topic: topic, ID: meta.Sequence.Stream, Prev: prev, Data: data[1:], Type: messageType(data[0])}, nil
}

func (s *Store) subject(topic string) string {
	return s.o.Prefix + ".t" + base64.RawURLEncoding.EncodeToString([]byte(topic))
}

func (s *Store) topic(subject string) (string, bool) {
	enc, ok := strings.CutPrefix(subject, s.o.Prefix+".t")
	if !ok {
		return "", false
	}
	name, err := base64.RawURLEncoding.DecodeString(enc)
	return string(name), err == nil
}

// messageType decodes the byte a message travels behind: 't' for text.
func messageType(b byte) wss.MessageType {
	if b == 't' {
		return wss.Text
	}
	return wss.Binary
}
