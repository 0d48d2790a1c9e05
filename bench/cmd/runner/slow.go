package main

import (
	"context"
	"fmt"
	"strconv"
)

// slowSrc is the first source address of the slow readers, apart from the
// echo connections' (127.0.0.2 on).
const slowSrc = "127.0.0.9"

// slowReaders measures sc's echo connections beside sc.slow peers that send
// and never read. Those run in a load generator of their own, so that the
// measuring one's loop never waits on them; both share the load generator's
// CPU. The window opens as soon as the slow readers are up, with no
// warm-up, so the first seconds, while the server's output to them fills the
// kernel's socket buffers, are counted.
func (r *runner) slowReaders(ctx context.Context, sc scenario, addr string, srv *process) (sample, error) {
	if sc.slow == 0 {
		return r.echoFor(ctx, sc, addr, srv, 0)
	}
	// The slow readers send until their standard input closes.
	argv := []string{r.loadgen, "-addr", addr, "-conns", "0", "-slow", strconv.Itoa(sc.slow), "-size", strconv.Itoa(sc.size),
		"-src", slowSrc, "-setup-timeout", setupTimeout.String()}
	h, err := r.startHeld(ctx, argv, srv)
	if err != nil {
		return sample{}, fmt.Errorf("slow readers: %w", err)
	}
	defer h.stop()
	smp, err := r.echoFor(ctx, sc, addr, srv, 0)
	if err != nil {
		return smp, err
	}
	done, err := h.finish(ctx, srv)
	if err != nil {
		return sample{}, fmt.Errorf("slow readers: %w", err)
	}
	smp.SlowDropped = done.Dropped
	return smp, nil
}
