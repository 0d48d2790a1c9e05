package wss

import "github.com/wssgo/wss/internal/poll"

// readNow and writeNow make one system call on a socket in non-blocking
// mode, which returns at once: goroutine mode's reads and turn writes make
// them without telling the scheduler, as the event loops do, which saves
// the runtime's entry and exit of a system call on each (sys_linux.go in
// internal/poll says why that is safe).
func readNow(fd uintptr, p []byte) (int, error) { return poll.Read(int32(fd), p) }

func writeNow(fd uintptr, p []byte) (int, error) { return poll.Write(int32(fd), p) }
