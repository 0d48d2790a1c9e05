//go:build !unix

package wss

import "time"

// cpuTime is the process's CPU time where getrusage exists; here the
// benchmarks report no CPU figure (0).
func cpuTime() time.Duration { return 0 }
