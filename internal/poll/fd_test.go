//go:build linux

package poll

import (
	"testing"

	"golang.org/x/sys/unix"
)

// isOpen reports whether fd is an open descriptor.
func isOpen(fd int32) bool {
	_, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	return err == nil
}

func newPipeFD(t *testing.T) (*FD, int32) {
	t.Helper()
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(p[1]) })
	f := new(FD)
	f.Set(int32(p[0]))
	return f, int32(p[0])
}

// TestFDLetGoClosesAfterLastUser: a descriptor let go of while a goroutine
// uses it stays open until that use ends, then closes once; Acquire fails
// from LetGo on.
func TestFDLetGoClosesAfterLastUser(t *testing.T) {
	f, fd := newPipeFD(t)
	if !f.Acquire() {
		t.Fatal("Acquire failed on a fresh descriptor")
	}
	f.LetGo()
	if !isOpen(fd) {
		t.Fatal("closed while still acquired")
	}
	if f.Acquire() {
		t.Fatal("Acquire succeeded after LetGo")
	}
	if !f.Released() {
		t.Fatal("Released is false after LetGo")
	}
	f.Release()
	if isOpen(fd) {
		t.Fatal("still open after the last Release")
	}
}

// TestFDLetGoUnusedClosesAtOnce: with no user, LetGo closes at once.
func TestFDLetGoUnusedClosesAtOnce(t *testing.T) {
	f, fd := newPipeFD(t)
	f.LetGo()
	if isOpen(fd) {
		t.Fatal("still open after LetGo with no user")
	}
}

// TestFDWork: Kick asks for a reader only when none is on the
// connection; EndWork reports false once for input that came meanwhile,
// and the work bits never keep a let-go descriptor open.
func TestFDWork(t *testing.T) {
	f, fd := newPipeFD(t)
	steps := []struct {
		name string
		do   func() bool
		want bool
	}{
		{"first Kick starts a reader", f.Kick, true},
		{"Kick while reading", f.Kick, false},
		{"Kick again while reading", f.Kick, false},
		{"EndWork with input pending", f.EndWork, false},
		{"EndWork with none", f.EndWork, true},
		{"Kick after the reader stopped", f.Kick, true},
	}
	for _, s := range steps {
		if got := s.do(); got != s.want {
			t.Fatalf("%s: got %v, want %v", s.name, got, s.want)
		}
	}
	f.LetGo() // a reader is still on it
	if isOpen(fd) {
		t.Fatal("work bits kept a let-go descriptor open")
	}
}
