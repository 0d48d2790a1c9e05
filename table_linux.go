package wss

// connTable holds a loop's connections by index (descriptor / loops). It
// grows a chunk at a time and never copies: a slice grown by doubling
// would leave its old arrays as garbage, up to the size of the table,
// while thousands of connections arrive, and keep up to half of its last
// one unused.
type connTable struct {
	chunks []*[tableChunk]*Conn
}

const tableChunk = 1024

// get returns the connection at k, or nil.
func (t *connTable) get(k int) *Conn {
	u := uint(k) // k is not negative: shifts and masks, no sign fix-ups
	if i := u / tableChunk; i < uint(len(t.chunks)) {
		if ch := t.chunks[i]; ch != nil {
			return ch[u%tableChunk]
		}
	}
	return nil
}

// set puts c at k.
func (t *connTable) set(k int, c *Conn) {
	i := k / tableChunk
	for i >= len(t.chunks) {
		t.chunks = append(t.chunks, nil)
	}
	if t.chunks[i] == nil {
		t.chunks[i] = new([tableChunk]*Conn)
	}
	t.chunks[i][k%tableChunk] = c
}

// remove clears k if c is there.
func (t *connTable) remove(k int, c *Conn) {
	if t.get(k) == c {
		t.chunks[k/tableChunk][k%tableChunk] = nil
	}
}

// appendTo appends the table's connections to conns.
func (t *connTable) appendTo(conns []*Conn) []*Conn {
	for _, ch := range t.chunks {
		if ch == nil {
			continue
		}
		for _, c := range ch {
			if c != nil {
				conns = append(conns, c)
			}
		}
	}
	return conns
}
