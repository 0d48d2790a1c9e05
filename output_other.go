//go:build !linux

package wss

// Without event loops, these are never called.

func (w *wire) sendFD(hdr, payload []byte, noWait bool) (<-chan error, error) { return nil, ErrClosed }

func (w *wire) unsentLoop() int { return 0 }

func (w *wire) corkPlain(*outgoing) bool { return false }

func (w *wire) sendFDFrames([][]byte) (<-chan error, error) { return nil, ErrClosed }

func (w *wire) disown() {}

func (w *wire) sendFDPastTurn(hdr, payload []byte) (<-chan error, error) { return nil, ErrClosed }
