package pubsub

import (
	"sync"

	"github.com/wssgo/wss"
)

// Backplane carries messages between the PubSubs of several nodes. A PubSub
// calls Start once, then Subscribe and Unsubscribe as its topics gain their
// first and lose their last local interest, and Publish for each message
// published on it. Implementations must deliver to every other node that
// subscribed each message once, in the order each node published, and
// never back to the node that published it.
type Backplane interface {
	// Start begins delivering other nodes' messages to deliver, which is
	// called for one message at a time, in order; data is valid only during
	// the call.
	Start(deliver func(topic string, data []byte, typ wss.MessageType)) error
	// Subscribe and Unsubscribe change this node's interest in a topic.
	// Both are idempotent.
	Subscribe(topic string) error
	Unsubscribe(topic string) error
	// Publish sends a message to the other nodes subscribed to topic.
	// data is not retained after the call. It must not block for long: a
	// backplane that cannot reach its broker buffers or fails.
	Publish(topic string, data []byte, typ wss.MessageType) error
	// Close stops delivery and releases the backplane.
	Close() error
}

// Bus is an in-process backplane: the PubSubs that use its nodes share
// topics as if they were separate servers, with no broker. Safe for
// concurrent use.
type Bus struct {
	mu    sync.RWMutex
	nodes map[*busNode]struct{}
}

// NewBus returns an empty Bus.
func NewBus() *Bus { return &Bus{nodes: make(map[*busNode]struct{})} }

// Node returns a new node of the bus, the Backplane of one PubSub.
func (b *Bus) Node() Backplane { return &busNode{bus: b, topics: make(map[string]bool)} }

type busNode struct {
	bus *Bus

	deliverMu sync.Mutex // serializes deliveries to this node
	deliver   func(topic string, data []byte, typ wss.MessageType)
	mu        sync.Mutex // guards topics
	topics    map[string]bool
}

func (n *busNode) Start(deliver func(topic string, data []byte, typ wss.MessageType)) error {
	n.deliverMu.Lock()
	n.deliver = deliver
	n.deliverMu.Unlock()
	n.bus.mu.Lock()
	n.bus.nodes[n] = struct{}{}
	n.bus.mu.Unlock()
	return nil
}

func (n *busNode) Subscribe(topic string) error {
	n.mu.Lock()
	n.topics[topic] = true
	n.mu.Unlock()
	return nil
}

func (n *busNode) Unsubscribe(topic string) error {
	n.mu.Lock()
	delete(n.topics, topic)
	n.mu.Unlock()
	return nil
}

// Publish delivers synchronously to the other nodes: each delivery only
// queues the message for their subscribers, so it does not block.
func (n *busNode) Publish(topic string, data []byte, typ wss.MessageType) error {
	n.bus.mu.RLock()
	defer n.bus.mu.RUnlock()
	for other := range n.bus.nodes {
		if other != n {
			other.receive(topic, data, typ)
		}
	}
	return nil
}

func (n *busNode) receive(topic string, data []byte, typ wss.MessageType) {
	n.mu.Lock()
	want := n.topics[topic]
	n.mu.Unlock()
	if !want {
		return
	}
	n.deliverMu.Lock()
	defer n.deliverMu.Unlock()
	if n.deliver != nil {
		n.deliver(topic, data, typ)
	}
}

func (n *busNode) Close() error {
	n.bus.mu.Lock()
	delete(n.bus.nodes, n)
	n.bus.mu.Unlock()
	return nil
}
