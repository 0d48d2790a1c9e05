package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A chat node in a child process (this test binary, running
// TestChatNodeProcess), so that a test can SIGKILL it.

// childConfig is what the parent tells the child, as JSON in CHAT_NODE.
type childConfig struct {
	Addr, Data, NATS string
	Generous         bool
	MaxMessage       int
	AliveMs          int
	ExpiryMs         int
	CheckMs          int
}

// nodeProcess is a chat node running in a child process.
type nodeProcess struct {
	addr  string
	cmd   *exec.Cmd
	done  chan error
	stdin io.Closer
}

// startNodeProcess starts a chat node in a child process and waits until
// it serves. It is killed when the test ends.
func startNodeProcess(t *testing.T, cc childConfig) *nodeProcess {
	t.Helper()
	if cc.Addr == "" {
		cc.Addr = "127.0.0.1:0"
	}
	b, _ := json.Marshal(cc)
	cmd := exec.Command(os.Args[0], "-test.run=^TestChatNodeProcess$")
	cmd.Env = append(os.Environ(), "CHAT_NODE="+string(b))
	cmd.Stderr = os.Stderr
	stdout, _ := cmd.StdoutPipe()
	stdin, _ := cmd.StdinPipe() // the child stops when it closes
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &nodeProcess{cmd: cmd, done: make(chan error, 1), stdin: stdin}
	lines := bufio.NewScanner(stdout)
	ready := make(chan string, 1)
	go func() {
		for lines.Scan() {
			if addr, ok := strings.CutPrefix(lines.Text(), "chat-node-ready "); ok {
				ready <- addr
			}
		}
		p.done <- cmd.Wait()
	}()
	t.Cleanup(func() { p.kill(t); stdin.Close() })
	select {
	case p.addr = <-ready:
	case err := <-p.done:
		t.Fatalf("chat node process ended before serving: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("chat node process not serving after 20s")
	}
	return p
}

// kill sends SIGKILL and waits for the process to end.
func (p *nodeProcess) kill(t *testing.T) {
	if p.done == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Error("killed chat node process did not end")
	}
	p.done = nil
}

func (p *nodeProcess) server() *chatServer { return &chatServer{addr: p.addr, stop: func() {}} }

// TestChatNodeProcess is the child side: it runs a chat node until killed
// or until its parent closes its stdin. It does nothing in a normal run.
func TestChatNodeProcess(t *testing.T) {
	env := os.Getenv("CHAT_NODE")
	if env == "" {
		t.Skip("run by the tests that kill a node")
	}
	var cc childConfig
	if err := json.Unmarshal([]byte(env), &cc); err != nil {
		t.Fatal(err)
	}
	cfg := config{addr: cc.Addr, natsURL: cc.NATS, dataDir: cc.Data, maxMessage: 256 << 10,
		history: 100, historyBytes: 256 << 20, lim: defaultLimits(), timing: defaultTiming()}
	if cc.Generous {
		cfg.lim = generous()
	}
	if cc.MaxMessage > 0 {
		cfg.maxMessage = cc.MaxMessage
	}
	if cc.AliveMs > 0 {
		ms := time.Millisecond
		cfg.timing = presenceTiming{alive: time.Duration(cc.AliveMs) * ms, expiry: time.Duration(cc.ExpiryMs) * ms, check: time.Duration(cc.CheckMs) * ms}
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	ready := make(chan string, 1)
	go func() { fmt.Printf("chat-node-ready %s\n", <-ready) }()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if err := run(ctx, cfg, log, ready); err != nil {
		fmt.Fprintln(os.Stderr, "chat node:", err)
		os.Exit(1)
	}
	os.Exit(0)
}
