//go:build !race

package wss

const raceEnabled = false
