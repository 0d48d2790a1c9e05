//go:build unix && !linux

package wss

import "syscall"

// readNow and writeNow make one system call on a socket in non-blocking
// mode (rawsys_linux.go).
func readNow(fd uintptr, p []byte) (int, error) { return syscall.Read(int(fd), p) }

func writeNow(fd uintptr, p []byte) (int, error) { return syscall.Write(int(fd), p) }
