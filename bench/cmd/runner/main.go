// Command runner builds every echo server and the load generator once, then
// measures all servers in one run and prints a Markdown report with each
// figure's ratio to the floor server and to the best rival library.
//
// Run it from the bench directory:
//
//	go run ./cmd/runner -quick             # smoke run, under two minutes
//	go run ./cmd/runner -out results.md    # full run
//
// Cells are interleaved (each repetition runs every scenario for every
// server in turn) so that a slow spell on this shared machine hits all
// servers alike, and the report shows medians over the repetitions. Each
// server is pinned to one CPU and the load generator to another.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"
)

type options struct {
	scenarios, servers    string
	extras                []server
	reps                  int
	duration, warmup      time.Duration
	quick, text           bool
	root, out, raw        string
	serverCPU, loadgenCPU string
}

// extraServers collects -server and -fanout-server flags; the two of one
// name make one server.
type extraServers struct {
	list   *[]server
	fanout bool
}

func (e extraServers) String() string { return "" }

func (e extraServers) Set(v string) error {
	s, err := parseExtra(v, e.fanout)
	*e.list = withFanout(*e.list, s)
	return err
}

func main() {
	o := parseFlags()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "runner:", err)
		os.Exit(1)
	}
}

func parseFlags() options {
	var o options
	keys := make([]string, len(scenarios))
	for i, sc := range scenarios {
		keys[i] = sc.key
	}
	flag.StringVar(&o.scenarios, "scenarios", strings.Join(keys, ","), "comma-separated scenarios to run")
	flag.StringVar(&o.servers, "servers", "", "comma-separated servers to run (default: all)")
	flag.Var(extraServers{list: &o.extras}, "server", "extra echo server as `name=command line`; {addr} stands for the listen address,\n"+
		"else -addr ADDR is appended (repeatable; counts as a rival)")
	flag.Var(extraServers{list: &o.extras, fanout: true}, "fanout-server", "extra fan-out server as `name=command line`, as -server;\n"+
		"with a -server of the same name it is one row of the report")
	flag.IntVar(&o.reps, "reps", 3, "repetitions of every cell; the report shows medians")
	flag.DurationVar(&o.duration, "duration", 5*time.Second, "measured window of an echo cell")
	flag.DurationVar(&o.warmup, "warmup", time.Second, "echo time before the measured window")
	flag.BoolVar(&o.quick, "quick", false, "smoke run: -reps 1 -duration 1s -warmup 250ms unless given")
	flag.BoolVar(&o.text, "text", false, "echo text messages instead of binary ones")
	flag.StringVar(&o.root, "root", "..", "wss checkout whose cmd/echo is measured")
	flag.StringVar(&o.out, "out", "", "also write the Markdown report to this file")
	flag.StringVar(&o.raw, "raw", "", "write every sample, repetitions included, as JSON to this file")
	flag.StringVar(&o.serverCPU, "server-cpu", "0", "CPU the servers are pinned to")
	flag.StringVar(&o.loadgenCPU, "loadgen-cpu", "1", "CPU the load generator is pinned to")
	flag.Parse()
	if o.quick {
		set := map[string]bool{}
		flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if !set["reps"] {
			o.reps = 1
		}
		if !set["duration"] {
			o.duration = time.Second
		}
		if !set["warmup"] {
			o.warmup = 250 * time.Millisecond
		}
	}
	return o
}

func run(ctx context.Context, o options) error {
	scs, err := pick(scenarios, o.scenarios, "scenario", func(sc scenario) string { return sc.key })
	if err != nil {
		return err
	}
	if _, err := os.Stat("servers/floor"); err != nil {
		return fmt.Errorf("run me from the bench directory: %w", err)
	}
	dir, err := os.MkdirTemp("", "wss-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	fmt.Fprintln(os.Stderr, "runner: building the servers and the load generator")
	all, err := build(ctx, dir, o.root, o.extras)
	if err != nil {
		return err
	}
	servers := all
	if o.servers != "" {
		if servers, err = pick(all, o.servers, "server", func(s server) string { return s.name }); err != nil {
			return err
		}
	}
	r := &runner{
		loadgen:    dir + "/loadgen",
		serverCPU:  o.serverCPU,
		loadgenCPU: o.loadgenCPU,
		duration:   o.duration,
		warmup:     o.warmup,
		text:       o.text,
	}
	load := loadAverage()
	samples, err := measure(ctx, r, o.reps, servers, scs)
	if err != nil {
		return err
	}
	report := markdown(o, load, servers, scs, samples)
	fmt.Print(report)
	if o.out != "" {
		if err := os.WriteFile(o.out, []byte(report), 0o644); err != nil {
			return err
		}
	}
	if o.raw != "" {
		b, err := json.MarshalIndent(samples, "", "  ")
		if err != nil {
			return err
		}
		return os.WriteFile(o.raw, append(b, '\n'), 0o644)
	}
	return nil
}

// measure runs every cell: for each repetition, each scenario, each server
// in turn. The server order rotates with the repetition so that none is
// always first (after the build) or last.
func measure(ctx context.Context, r *runner, reps int, servers []server, scs []scenario) ([]sample, error) {
	var samples []sample
	for rep := range reps {
		for _, sc := range scs {
			for i := range servers {
				s := servers[(i+rep)%len(servers)]
				if s.commandFor(sc, "") == nil {
					continue // an echo-only server in a fan-out cell, or the reverse
				}
				start := time.Now()
				smp, err := r.run(ctx, s, sc)
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				smp.Server, smp.Scenario, smp.Rep = s.name, sc.key, rep+1
				if err != nil {
					smp.Err = err.Error()
				}
				fmt.Fprintf(os.Stderr, "rep %d/%d  %-8s %-14s %4.1fs  %s\n", rep+1, reps, sc.key, s.name,
					time.Since(start).Seconds(), summary(smp))
				samples = append(samples, smp)
			}
		}
	}
	return samples, nil
}

func summary(s sample) string {
	switch {
	case s.Err != "":
		first, _, _ := strings.Cut(s.Err, "\n")
		return "FAILED: " + first
	case s.RSSPerConn != 0 || s.BaseRSS != 0:
		return fmt.Sprintf("%s/conn over %s", fmtBytes(s.RSSPerConn), fmtBytes(s.BaseRSS))
	case strings.HasPrefix(s.Scenario, "fan"):
		return fmt.Sprintf("%s deliveries/s  %s CPU/delivery  RSS %s  (server %s, loadgen %s)",
			fmtRate(s.MsgsPerSec), fmtMicros(s.CPUPerMsg), fmtBytes(s.ServerRSS), fmtPct(s.ServerCPU), fmtPct(s.LoadgenCPU))
	case strings.HasPrefix(s.Scenario, "slow"):
		return fmt.Sprintf("%s msg/s  p50 %s  p99 %s  max %s  (server %s, loadgen %s, slow readers dropped %d)",
			fmtRate(s.MsgsPerSec), fmtMicros(s.P50Micros), fmtMicros(s.P99Micros), fmtMicros(s.MaxMicros),
			fmtPct(s.ServerCPU), fmtPct(s.LoadgenCPU), s.SlowDropped)
	default:
		return fmt.Sprintf("%s msg/s  %s CPU/msg  p99 %s  (server %s, loadgen %s)",
			fmtRate(s.MsgsPerSec), fmtMicros(s.CPUPerMsg), fmtMicros(s.P99Micros), fmtPct(s.ServerCPU), fmtPct(s.LoadgenCPU))
	}
}

// pick returns the items of all named in the comma-separated list, in its
// order; what names the kind of item in the error.
func pick[T any](all []T, list, what string, name func(T) string) ([]T, error) {
	var picked []T
	for _, key := range strings.Split(list, ",") {
		key = strings.TrimSpace(key)
		i := slices.IndexFunc(all, func(x T) bool { return name(x) == key })
		if i < 0 {
			return nil, fmt.Errorf("unknown %s %q", what, key)
		}
		picked = append(picked, all[i])
	}
	return picked, nil
}
