// Package poll is the kernel side of the event loops: an epoll instance a
// loop waits on without holding a thread (Poller), the lifetime of a
// descriptor that several goroutines use while the loop may close it (FD),
// raw non-blocking system calls, and the writev that sends a frame's
// header and payload in one call.
//
// It knows nothing of WebSocket: a loop of the root package looks up its
// connections by descriptor and gives each a turn; this package only waits
// for, reads from and writes to descriptors.
package poll
