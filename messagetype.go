package wss

import (
	"fmt"
	"strconv"
)

// MessageType is the kind of a data message: Text or Binary. Its values
// are the opcodes of RFC 6455 section 5.2.
type MessageType uint8

const (
	// Text is a message of UTF-8 text: Write checks it, and OnFrame gets
	// only valid UTF-8.
	Text MessageType = MessageType(opText)
	// Binary is a message of arbitrary bytes.
	Binary MessageType = MessageType(opBinary)
)

// String returns "text", "binary", or "message type N" for a value that
// is neither.
func (t MessageType) String() string {
	switch t {
	case Text:
		return "text"
	case Binary:
		return "binary"
	}
	return "message type " + strconv.Itoa(int(t))
}

// opcode returns the opcode of a message of type t, or an error for a
// value that is neither Text nor Binary.
func (t MessageType) opcode() (opcode, error) {
	if t == Text || t == Binary { // the values are the opcodes
		return opcode(t), nil
	}
	return 0, t.invalid()
}

// invalid is opcode's error, apart so that opcode is inlined.
func (t MessageType) invalid() error { return fmt.Errorf("wss: invalid %v", t) }
