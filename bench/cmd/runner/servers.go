package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// server is an echo server under test: argv is its command line, in which
// "{addr}" stands for the address it must listen on.
type server struct {
	name  string
	argv  []string
	rival bool // another library: a candidate for "best rival"
}

// rivals are the other libraries' servers under servers/, in table order.
var rivals = []string{"gorilla", "gws", "gobwas", "coder"}

// build compiles the load generator and every server once, into dir, and
// returns the servers in table order: floor, wss, rivals, then extras.
func build(ctx context.Context, dir, wssRoot string, extras []server) ([]server, error) {
	pkgs := []string{"./loadgen", "./servers/floor"}
	for _, r := range rivals {
		pkgs = append(pkgs, "./servers/"+r)
	}
	// One go build for all packages: it compiles them in parallel and names
	// each binary after its directory.
	if err := goBuild(ctx, ".", dir+string(filepath.Separator), pkgs...); err != nil {
		return nil, err
	}
	servers := []server{{name: "floor", argv: []string{filepath.Join(dir, "floor"), "-addr", "{addr}"}}}
	wss, err := buildWSS(ctx, dir, wssRoot)
	if err != nil {
		return nil, err
	}
	servers = append(servers, wss...)
	for _, r := range rivals {
		servers = append(servers, server{name: r, argv: []string{filepath.Join(dir, r), "-addr", "{addr}"}, rival: true})
	}
	return append(servers, extras...), nil
}

// buildWSS builds cmd/echo of the wss checkout at root. With a -dispatcher
// flag it yields one server per dispatcher; before that flag exists, one.
func buildWSS(ctx context.Context, dir, root string) ([]server, error) {
	if _, err := os.Stat(filepath.Join(root, "cmd", "echo")); errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(os.Stderr, "runner: no %s/cmd/echo yet: wss is left out\n", root)
		return nil, nil
	}
	bin, err := filepath.Abs(filepath.Join(dir, "wss-echo"))
	if err != nil {
		return nil, err
	}
	if err := goBuild(ctx, root, bin, "./cmd/echo"); err != nil {
		return nil, err
	}
	if !hasFlag(ctx, bin, "dispatcher") {
		fmt.Fprintln(os.Stderr, "runner: cmd/echo has no -dispatcher flag yet: one wss server, its default dispatcher")
		return []server{{name: "wss", argv: []string{bin, "-addr", "{addr}"}}}, nil
	}
	var servers []server
	for _, d := range []string{"epoll", "goroutine"} {
		servers = append(servers, server{name: "wss-" + d, argv: []string{bin, "-addr", "{addr}", "-dispatcher", d}})
	}
	// Since Dispatcher.Serve, cmd/echo answers handshakes on the event
	// loops; -nethttp keeps the net/http handshake to compare.
	if hasFlag(ctx, bin, "nethttp") {
		servers = append(servers, server{name: "wss-epoll-nethttp", argv: []string{bin, "-addr", "{addr}", "-dispatcher", "epoll", "-nethttp"}})
	}
	return servers, nil
}

func goBuild(ctx context.Context, dir, out string, pkgs ...string) error {
	cmd := exec.CommandContext(ctx, "go", append([]string{"build", "-o", out}, pkgs...)...)
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s in %s: %w\n%s", strings.Join(pkgs, " "), dir, err, b)
	}
	return nil
}

// hasFlag reports whether the usage message of the Go program bin lists -name.
func hasFlag(ctx context.Context, bin, name string) bool {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	usage, _ := exec.CommandContext(ctx, bin, "-h").CombinedOutput() // exits non-zero by design
	// The flag package lists "-name type" or, for a bool, "-name" alone.
	return strings.Contains(string(usage), "-"+name+" ") || strings.Contains(string(usage), "-"+name+"\n")
}

// parseExtra reads a -server flag value "name=command line".
func parseExtra(v string) (server, error) {
	name, cmdline, ok := strings.Cut(v, "=")
	argv := strings.Fields(cmdline)
	if !ok || name == "" || len(argv) == 0 {
		return server{}, fmt.Errorf("-server %q: want name=command line", v)
	}
	if !strings.Contains(cmdline, "{addr}") {
		argv = append(argv, "-addr", "{addr}")
	}
	return server{name: name, argv: argv, rival: true}, nil
}

// command returns the server's command line for addr.
func (s server) command(addr string) []string {
	argv := make([]string, len(s.argv))
	for i, a := range s.argv {
		argv[i] = strings.ReplaceAll(a, "{addr}", addr)
	}
	return argv
}
