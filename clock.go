package wss

import "time"

// clockEpoch is the origin of the process-wide monotonic clock that turns
// and ping timing read.
var clockEpoch = time.Now()

// sinceEpoch reads the monotonic clock, never 0. time.Since of a time
// with a monotonic reading reads only the monotonic clock: one vDSO call,
// where time.Now also reads the wall clock.
func sinceEpoch() time.Duration { return max(time.Since(clockEpoch), 1) }
