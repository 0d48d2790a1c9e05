package pubsub

import (
	"sync"

	"github.com/wssgo/wss"
)

// A topic records its messages in segments that the queues of its
// subscribers share: a subscriber's queue holds a run of a segment (the
// messages of a burst, published one after another) rather than a pointer
// per message, so that 10,000 subscribers with a burst of 16 queued hold
// 10,000 runs, not 160,000 pointers.

// segmentLen and segmentBytes bound a segment: a message that would fill
// it closes it, so that a segment, which holds all its messages until no
// run refers to it, keeps little that was written already.
const (
	segmentLen   = 64
	segmentBytes = 64 << 10
)

// segment is a sequence of a topic's messages. msgs[i] is written once,
// under the topic's log lock, before any run refers to it.
type segment struct {
	msgs [segmentLen]*wss.PreparedMessage
}

// topicLog is where a topic records its messages.
type topicLog struct {
	mu    sync.Mutex
	seg   *segment // the segment open for more, nil if none
	n     int      // messages in seg
	bytes int      // their bytes
}

// record appends pm to the open segment, opening one if none is, and
// returns where it is.
func (l *topicLog) record(pm *wss.PreparedMessage) (*segment, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seg == nil {
		l.seg, l.n, l.bytes = new(segment), 0, 0
	}
	seg, i := l.seg, l.n
	seg.msgs[i] = pm
	l.n++
	l.bytes += pm.Len()
	if l.n == segmentLen || l.bytes >= segmentBytes {
		l.seg = nil // full: the runs that refer to it keep it
	}
	return seg, i
}

// run is an entry of a subscriber's queue: the messages seg.msgs[lo:hi],
// or, when seg is nil, the one message pm.
type run struct {
	seg    *segment
	pm     *wss.PreparedMessage
	lo, hi int32
}

// extends reports whether message i of seg follows r, so that r can take it.
func (r *run) extends(seg *segment, i int) bool {
	return seg != nil && r.seg == seg && int(r.hi) == i
}
