package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// server is a server under test: argv is its echo command line and fanout
// its fan-out one (nil: it has none, and sits out those cells); in both,
// "{addr}" stands for the address it must listen on.
type server struct {
	name   string
	argv   []string
	fanout []string
	rival  bool // another library: a candidate for "best rival"
}

// rivals are the other libraries' servers under servers/, in table order.
var rivals = []string{"gorilla", "gws", "gobwas", "coder"}

// fanoutRivals are the rivals that also serve the fan-out scenarios (-fanout).
var fanoutRivals = []string{"gws", "gorilla"}

// build compiles the load generator and every server once, into dir, and
// returns the servers in table order: floors, wss, rivals, then extras.
func build(ctx context.Context, dir, wssRoot string, extras []server) ([]server, error) {
	pkgs := []string{"./loadgen", "./servers/floor", "./servers/fanfloor", "./servers/wsspubsub"}
	for _, r := range rivals {
		pkgs = append(pkgs, "./servers/"+r)
	}
	// One go build for all packages: it compiles them in parallel and names
	// each binary after its directory.
	if err := goBuild(ctx, ".", dir+string(filepath.Separator), pkgs...); err != nil {
		return nil, err
	}
	fanfloor := filepath.Join(dir, "fanfloor")
	servers := []server{
		{name: "floor", argv: []string{filepath.Join(dir, "floor"), "-addr", "{addr}"}},
		{name: "fanfloor", fanout: []string{fanfloor, "-addr", "{addr}"}},
		{name: "fanfloor-batch", fanout: []string{fanfloor, "-addr", "{addr}", "-batch"}},
	}
	wss, err := buildWSS(ctx, dir, wssRoot)
	if err != nil {
		return nil, err
	}
	servers = append(servers, wss...)
	// The fan-out server on wss is built from this module's checkout (its
	// replace directive), not from -root.
	for _, d := range []string{"eventloop", "goroutine"} {
		servers = withFanout(servers, server{name: "wss-" + dispatcherColumn(d),
			fanout: []string{filepath.Join(dir, "wsspubsub"), "-addr", "{addr}", "-dispatcher", d}})
	}
	for _, r := range rivals {
		s := server{name: r, argv: []string{filepath.Join(dir, r), "-addr", "{addr}"}, rival: true}
		if slices.Contains(fanoutRivals, r) {
			s.fanout = []string{filepath.Join(dir, r), "-addr", "{addr}", "-fanout"}
		}
		servers = append(servers, s)
	}
	for _, e := range extras {
		servers = withFanout(servers, e)
	}
	return servers, nil
}

// withFanout adds s to servers, or, if one of that name is there, gives it
// s's command lines.
func withFanout(servers []server, s server) []server {
	i := slices.IndexFunc(servers, func(x server) bool { return x.name == s.name })
	if i < 0 {
		return append(servers, s)
	}
	if s.argv != nil {
		servers[i].argv = s.argv
	}
	if s.fanout != nil {
		servers[i].fanout = s.fanout
	}
	servers[i].rival = servers[i].rival || s.rival
	return servers
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
	// cmd/echo names the event-loop dispatcher "eventloop"; older
	// checkouts name it "epoll".
	loops := "epoll"
	if usageMentions(ctx, bin, "eventloop") {
		loops = "eventloop"
	}
	var servers []server
	for _, d := range []string{loops, "goroutine"} {
		servers = append(servers, server{name: "wss-" + dispatcherColumn(d), argv: []string{bin, "-addr", "{addr}", "-dispatcher", d}})
	}
	// Since Dispatcher.Serve, cmd/echo answers handshakes on the event
	// loops; -nethttp keeps the net/http handshake to compare.
	if hasFlag(ctx, bin, "nethttp") {
		servers = append(servers, server{name: "wss-epoll-nethttp", argv: []string{bin, "-addr", "{addr}", "-dispatcher", loops, "-nethttp"}})
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

// dispatcherColumn is the name of a dispatcher's column in the results: "epoll" for
// the event loops, whatever the flag calls them, so that tables compare.
func dispatcherColumn(dispatcher string) string {
	if dispatcher == "eventloop" {
		return "epoll"
	}
	return dispatcher
}

// hasFlag reports whether the usage message of the Go program bin lists -name.
func hasFlag(ctx context.Context, bin, name string) bool {
	usage := usageOf(ctx, bin)
	// The flag package lists "-name type" or, for a bool, "-name" alone.
	return strings.Contains(usage, "-"+name+" ") || strings.Contains(usage, "-"+name+"\n")
}

// usageMentions reports whether the usage message of bin contains word.
func usageMentions(ctx context.Context, bin, word string) bool {
	return strings.Contains(usageOf(ctx, bin), word)
}

// usageOf returns the usage message of the Go program bin.
func usageOf(ctx context.Context, bin string) string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	usage, _ := exec.CommandContext(ctx, bin, "-h").CombinedOutput() // exits non-zero by design
	return string(usage)
}

// parseExtra reads a -server (or, with fanout, -fanout-server) flag value
// "name=command line".
func parseExtra(v string, fanout bool) (server, error) {
	name, cmdline, ok := strings.Cut(v, "=")
	argv := strings.Fields(cmdline)
	if !ok || name == "" || len(argv) == 0 {
		return server{}, fmt.Errorf("%q: want name=command line", v)
	}
	if !strings.Contains(cmdline, "{addr}") {
		argv = append(argv, "-addr", "{addr}")
	}
	if fanout {
		return server{name: name, fanout: argv, rival: true}, nil
	}
	return server{name: name, argv: argv, rival: true}, nil
}

// commandFor returns the server's command line for sc at addr, or nil if it
// has none for that kind of cell.
func (s server) commandFor(sc scenario, addr string) []string {
	src := s.argv
	if sc.fanout {
		src = s.fanout
	}
	if src == nil {
		return nil
	}
	argv := make([]string, len(src))
	for i, a := range src {
		argv[i] = strings.ReplaceAll(a, "{addr}", addr)
	}
	return argv
}
