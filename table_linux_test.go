package wss

import (
	"runtime"
	"slices"
	"testing"
)

// A loop's table grows a chunk at a time: adding n connections allocates
// about n pointers, never the copies a slice grown by doubling leaves
// behind as garbage while thousands of connections arrive (about 5n
// pointers in all).
func TestLoopTable_GrowsWithoutCopies(t *testing.T) {
	const n = 19_000
	conns := make([]Conn, n)
	for i := range conns {
		conns[i].fd.Set(int32(i))
	}
	l := &loop{nLoops: 1}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := range conns {
		l.add(&conns[i])
	}
	runtime.ReadMemStats(&after)
	// A pointer each, and 64 KiB for the last chunk, the list of chunks and
	// TotalAlloc's granularity (it counts spans as the allocator caches them).
	const ptr, slack = 8, 64 << 10
	if got := after.TotalAlloc - before.TotalAlloc; got > n*ptr+slack {
		t.Errorf("adding %d connections allocated %d B, want at most %d", n, got, n*ptr+slack)
	}
	if got := l.appendConns(nil); len(got) != n || got[0] != &conns[0] || got[n-1] != &conns[n-1] {
		t.Errorf("appendConns returned %d connections, want all %d in descriptor order", len(got), n)
	}
}

// Lookups and removals at the edges of chunks: a connection is found at
// its index only, and removed only by itself.
func TestLoopTable_Edges(t *testing.T) {
	var tab connTable
	keys := []int{0, tableChunk - 1, tableChunk, 3*tableChunk + 7}
	conns := make([]Conn, len(keys))
	for i, k := range keys {
		tab.set(k, &conns[i])
	}
	for i, k := range keys {
		if tab.get(k) != &conns[i] {
			t.Errorf("get(%d) is not the connection set there", k)
		}
	}
	for _, k := range []int{1, tableChunk + 1, 2 * tableChunk, 4 * tableChunk, 100 * tableChunk} {
		if c := tab.get(k); c != nil {
			t.Errorf("get(%d) = %p, want nil", k, c)
		}
	}
	tab.remove(keys[1], &conns[0]) // not there: stays
	if tab.get(keys[1]) != &conns[1] {
		t.Errorf("remove of another connection cleared index %d", keys[1])
	}
	tab.remove(keys[1], &conns[1])
	if c := tab.get(keys[1]); c != nil {
		t.Errorf("after remove, get(%d) = %p, want nil", keys[1], c)
	}
	want := []*Conn{&conns[0], &conns[2], &conns[3]}
	if got := tab.appendTo(nil); !slices.Equal(got, want) {
		t.Errorf("appendTo = %p, want %p", got, want)
	}
}
