package pubsub

import (
	"sync"
	"sync/atomic"

	"github.com/wssgo/wss"
)

// A topic records its messages in segments that the queues of its
// subscribers share: a subscriber's queue holds a run of a segment (the
// messages of a burst, published one after another) rather than a pointer
// per message, so that 10,000 subscribers with a burst of 16 queued hold
// 10,000 runs, not 160,000 pointers. The topic keeps its segment open for
// more messages only until a writer takes from it (the burst is being
// sent): after that only the runs that refer to a segment keep it, and an
// idle topic keeps none.

// segmentLen and segmentBytes bound a segment, which holds all its
// messages until no run refers to it.
const (
	segmentLen   = 64
	segmentBytes = 64 << 10
)

// segment is a sequence of a topic's messages. msgs[i] is written once,
// under the log's lock, before any run refers to it.
type segment struct {
	msgs  [segmentLen]*wss.PreparedMessage
	n     int // messages in msgs; guarded by log.mu
	bytes int // their bytes; guarded by log.mu
	log   *topicLog
}

// topicLog is where a topic records its messages.
type topicLog struct {
	mu   sync.Mutex              // orders the publishers' records
	open atomic.Pointer[segment] // the segment open for more, nil if none
}

// record appends pm to the open segment, opening one if none is or it is
// full, and returns where it is.
func (l *topicLog) record(pm *wss.PreparedMessage) (*segment, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	seg := l.open.Load()
	if seg == nil || seg.n == segmentLen || seg.bytes >= segmentBytes {
		seg = &segment{log: l}
		l.open.Store(seg)
	}
	i := seg.n
	seg.msgs[i] = pm
	seg.n++
	seg.bytes += pm.Len()
	return seg, i
}

// taken closes seg for more messages, once a writer takes from it.
func (s *segment) taken() { s.log.open.CompareAndSwap(s, nil) }

// run is an entry of a subscriber's queue: the messages seg.msgs[lo:hi],
// or, when seg is nil, the one message pm.
type run struct {
	seg    *segment
	pm     *wss.PreparedMessage
	lo, hi int32
}

// extends reports whether message at of seg follows r, so that r can take it.
func (r *run) extends(seg *segment, at int) bool {
	return seg != nil && r.seg == seg && int(r.hi) == at
}
