package wss

import "github.com/wssgo/wss/internal/frame"

// The opcodes under the short names the protocol code uses; the codec
// (internal/frame) defines them.
type opcode = frame.Opcode

const (
	opContinuation = frame.OpContinuation
	opText         = frame.OpText
	opBinary       = frame.OpBinary
	opClose        = frame.OpClose
	opPing         = frame.OpPing
	opPong         = frame.OpPong
)
