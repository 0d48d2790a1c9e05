//go:build race

package wss

// raceEnabled: the race detector slows socket-heavy tests about tenfold.
const raceEnabled = true
