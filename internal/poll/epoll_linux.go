package poll

import (
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// Sockets are registered edge-triggered for input and output: a loop reads
// until the socket is drained, and learns of room to write without an
// epoll_ctl per blocked write.
const socketEvents = unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET

// Poller is one epoll instance and the eventfd that stops its loop. Wait is
// called by the loop goroutine only; Add, Rearm and Wake by any goroutine.
type Poller struct {
	epfd   int
	epf    *os.File        // epfd, for the runtime's poller to wait on
	wait   syscall.RawConn // of epf
	wakefd int             // an eventfd: written to stop the loop
	events []unix.EpollEvent

	// take is made once: a closure made at every Wait would cost
	// allocations. It leaves its result in n and werr.
	take func(uintptr) bool
	n    int
	werr error
}

// Event is what Wait reports of one descriptor: it is readable or
// writable, or (Hangup) its peer hung up or it failed.
type Event struct {
	FD     int32
	Hangup bool
}

// NewPoller returns a Poller that reports at most batch events a Wait.
func NewPoller(batch int) (*Poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	wakefd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return nil, err
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(wakefd)}
	err = unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wakefd, &ev)
	if err == nil {
		err = unix.SetNonblock(epfd, true)
	}
	if err != nil {
		unix.Close(epfd)
		unix.Close(wakefd)
		return nil, err
	}
	// The loop waits in the runtime's poller, as goroutines reading sockets
	// do, for epfd to have events, then takes them without blocking: no
	// thread sits in epoll_wait, so waking the loop costs no thread hand-off.
	epf := os.NewFile(uintptr(epfd), "epoll")
	wait, err := epf.SyscallConn()
	if err != nil {
		epf.Close()
		unix.Close(wakefd)
		return nil, err
	}
	p := &Poller{epfd: epfd, epf: epf, wait: wait, wakefd: wakefd, events: make([]unix.EpollEvent, batch)}
	p.take = func(uintptr) bool {
		p.n, p.werr = epollWaitNow(p.epfd, p.events)
		return p.n > 0 || p.werr != nil // else wait for events
	}
	return p, nil
}

// Add starts watching fd for input, output and hang-up.
func (p *Poller) Add(fd int32) error { return epollCtl(p.epfd, unix.EPOLL_CTL_ADD, fd, socketEvents) }

// Rearm makes the poller report fd's state again, as if it had just
// changed: input that arrived while nobody read is announced anew.
func (p *Poller) Rearm(fd int32) error { return epollCtl(p.epfd, unix.EPOLL_CTL_MOD, fd, socketEvents) }

// Wake makes the loop's Wait report stop; it fails once the poller is
// closed.
func (p *Poller) Wake() error {
	one := [8]byte{1}
	_, err := unix.Write(p.wakefd, one[:])
	return err
}

// Wait appends the events that are ready to evs and reports whether Wake
// was called. With block it waits for at least one; without, it takes
// what is there.
func (p *Poller) Wait(evs []Event, block bool) ([]Event, bool, error) {
	if block {
		if err := p.wait.Read(p.take); err != nil {
			return evs, false, fmt.Errorf("epoll wait: %w", err)
		}
	} else {
		p.take(0)
	}
	if p.werr != nil && p.werr != unix.EINTR {
		return evs, false, fmt.Errorf("epoll_wait: %w", p.werr)
	}
	stop := false
	for _, ev := range p.events[:p.n] {
		if int(ev.Fd) == p.wakefd {
			stop = true
			continue
		}
		evs = append(evs, Event{FD: ev.Fd, Hangup: ev.Events&(unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0})
	}
	return evs, stop, nil
}

// Close closes the poller; only the loop calls it, once it has stopped.
func (p *Poller) Close() {
	p.epf.Close()
	unix.Close(p.wakefd)
}
