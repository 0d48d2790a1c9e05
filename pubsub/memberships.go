package pubsub

// memberships maps the names of a subscriber's topics to its index in each
// topic's subs. Most subscribers have one topic: it is held inline, so
// that 10,000 of them do not hold 10,000 maps; a map holds the others.
// Guarded by ps.mu, like the topics.
type memberships struct {
	first string
	index int // first's index, -1 when there is no first
	more  map[string]int
}

func newMemberships() memberships { return memberships{index: -1} }

// get returns the index in topic name and whether s is subscribed to it.
func (m *memberships) get(name string) (int, bool) {
	if m.index >= 0 && m.first == name {
		return m.index, true
	}
	i, ok := m.more[name]
	return i, ok
}

// set records index i in topic name.
func (m *memberships) set(name string, i int) {
	if _, inMore := m.more[name]; !inMore && (m.index < 0 || m.first == name) {
		m.first, m.index = name, i
		return
	}
	if m.more == nil {
		m.more = make(map[string]int)
	}
	m.more[name] = i
}

// remove forgets topic name.
func (m *memberships) remove(name string) {
	if m.index >= 0 && m.first == name {
		m.first, m.index = "", -1
		return
	}
	delete(m.more, name)
}

// len returns the number of topics.
func (m *memberships) len() int {
	n := len(m.more)
	if m.index >= 0 {
		n++
	}
	return n
}

// names returns the topics' names, in no particular order.
func (m *memberships) names() []string {
	names := make([]string, 0, m.len())
	if m.index >= 0 {
		names = append(names, m.first)
	}
	for name := range m.more {
		names = append(names, name)
	}
	return names
}
