//go:build !linux

package wss

// neverWaitHere: without event loops no write is left queued, so there is
// nothing to mark.
func neverWaitHere() (unmark func()) { return func() {} }
