package main

import (
	"context"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// The embedded NATS server keeps the messages it has just written in
// per-block caches and drops them 10 s later. An idle process allocates
// nothing, so no collection follows for up to two minutes and the dropped
// caches (hundreds of MiB after a burst of images) stay resident. So every
// memoryCheck, if no collection ran since the last check and the heap has
// grown by more than memorySlack since this check last collected, the heap
// is collected and its free pages given back to the system. A busy server
// collects on its own and is left alone; an idle one with a large live heap
// pays two collections per memoryCheck at most once per growth.
const (
	memoryCheck = 10 * time.Second
	memorySlack = 32 << 20
)

// releaseMemory runs the check above until ctx is done.
func releaseMemory(ctx context.Context) {
	samples := []metrics.Sample{
		{Name: "/gc/cycles/total:gc-cycles"},
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/free:bytes"},
	}
	read := func() (cycles, heap uint64) {
		metrics.Read(samples)
		return samples[0].Value.Uint64(), samples[1].Value.Uint64() + samples[2].Value.Uint64()
	}
	lastCycles, _ := read()
	var afterRelease uint64
	t := time.NewTicker(memoryCheck)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cycles, heap := read()
		if cycles == lastCycles && heap > afterRelease+memorySlack {
			// Two collections: the server recycles its block buffers in a
			// sync.Pool, which keeps them through one.
			runtime.GC()
			debug.FreeOSMemory()
			cycles, afterRelease = read()
		}
		lastCycles = cycles
	}
}
