package main

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wssgo/wss/internal/natstest"
)

// sayAll sends texts prefix0..prefix(n-1) and reads them back.
func (c *chatClient) sayAll(prefix string, from, n int) {
	c.t.Helper()
	for i := from; i < from+n; i++ {
		c.send(map[string]string{"type": "say", "text": fmt.Sprintf("%s%d", prefix, i)})
	}
	for i := from; i < from+n; i++ {
		if m := c.nextOf("message"); m.Text != fmt.Sprintf("%s%d", prefix, i) {
			c.t.Fatalf("got %q, want %s%d", m.Text, prefix, i)
		}
	}
}

// checkHistory checks that hist holds prefix<from>..prefix<to-1>, in order.
func checkHistory(t *testing.T, hist []outbound, prefix string, from, to int) {
	t.Helper()
	if len(hist) != to-from {
		t.Fatalf("history holds %d messages, want %d (%s%d..%s%d)", len(hist), to-from, prefix, from, prefix, to-1)
	}
	for k, m := range hist {
		if want := fmt.Sprintf("%s%d", prefix, from+k); m.Text != want {
			t.Fatalf("history[%d] = %q, want %q", k, m.Text, want)
		}
	}
}

// TestHistorySurvivesSIGKILLAndRestart: a node in a child process is
// killed with SIGKILL; started again on the same -data, it serves the last
// 100 messages of the room, and a page resuming after a message id gets
// exactly those after it.
func TestHistorySurvivesSIGKILLAndRestart(t *testing.T) {
	data := t.TempDir()
	p := startNodeProcess(t, childConfig{Data: data, Generous: true})
	ann := dialChat(t, p.server())
	ann.join("ann", "lobby")
	ann.sayAll("m", 0, 150)
	ids := map[int]string{149: ann.last}
	p.kill(t)

	p = startNodeProcess(t, childConfig{Data: data, Generous: true})
	bob := dialChat(t, p.server())
	checkHistory(t, bob.join("bob", "lobby"), "m", 50, 150)
	if ids[149] == "" || bob.last != ids[149] {
		t.Fatalf("last id after restart %q, want %q", bob.last, ids[149])
	}
	cat := dialChat(t, p.server())
	cat.join("cat", "lobby")
	bob.sayAll("n", 0, 3)
	dan := dialChat(t, p.server())
	hist := dan.joinAfter("dan", "lobby", ids[149])
	checkHistory(t, hist, "n", 0, 3)
	if !dan.hist.Resume || dan.hist.Gap {
		t.Fatalf("history header %+v, want resume without gap", dan.hist)
	}
}

// TestResumeReportsWhatCannotBeRecovered: a page resuming after a message
// the room no longer keeps gets what is kept and gap: true.
func TestResumeReportsWhatCannotBeRecovered(t *testing.T) {
	s := startChat(t, config{lim: generous(), history: 5})
	ann := dialChat(t, s)
	ann.join("ann", "lobby")
	ann.sayAll("m", 0, 2)
	first := ann.last
	for i := 2; i < 12; i++ { // one at a time: a burst over the room's limit may pass a lagging feed by
		ann.sayAll("m", i, 1)
	}
	bob := dialChat(t, s)
	checkHistory(t, bob.joinAfter("bob", "lobby", first), "m", 7, 12)
	if !bob.hist.Gap || !bob.hist.Resume {
		t.Fatalf("history header %+v, want resume with a gap", bob.hist)
	}
}

// TestGracefulRestartKeepsHistory: stopped and started again on the same
// -data, the chat serves the room's history.
func TestGracefulRestartKeepsHistory(t *testing.T) {
	data := t.TempDir()
	s := startChat(t, config{dataDir: data, lim: generous()})
	ann := dialChat(t, s)
	ann.join("ann", "lobby")
	ann.sayAll("m", 0, 20)
	ann.cl.Close()
	s.stop()
	s = startChat(t, config{dataDir: data, lim: generous()})
	checkHistory(t, dialChat(t, s).join("bob", "lobby"), "m", 0, 20)
}

// TestNATSOutageTwoNodesLoseNothing: two chat nodes on a NATS server with
// JetStream, people in two rooms on both nodes all talking; the NATS server
// is stopped and started again in the middle. Everyone gets every message
// of their room exactly once, each sender's in order; each room's messages
// come in the same order on both nodes; people are told the backplane was
// down, then up. CHAT_OUTAGE=10s holds the outage that long:
//
//	CHAT_OUTAGE=10s go test -run TestNATSOutageTwoNodesLoseNothing -v ./cmd/chat
func TestNATSOutageTwoNodesLoseNothing(t *testing.T) {
	dir := t.TempDir()
	ns := natstest.StartJetStream(t, 0, dir)
	port := ns.Addr().(*net.TCPAddr).Port
	n1 := startChat(t, config{natsURL: ns.ClientURL(), lim: generous()})
	n2 := startChat(t, config{natsURL: ns.ClientURL(), lim: generous()})
	type person struct {
		c          *chatClient
		nick, room string
	}
	people := []person{
		{dialChat(t, n1), "ann", "r1"}, {dialChat(t, n2), "bob", "r1"},
		{dialChat(t, n1), "cat", "r2"}, {dialChat(t, n2), "dan", "r2"},
	}
	for _, p := range people {
		p.c.join(p.nick, p.room)
	}
	const perPerson, half = 60, 20
	say := func(from, to int) {
		for _, p := range people {
			for i := from; i < to; i++ {
				p.c.send(map[string]string{"type": "say", "text": fmt.Sprintf("%s:%d", p.nick, i)})
			}
		}
	}
	got := make([][]string, len(people))
	read := func(k, until int) {
		for len(got[k]) < until {
			m, _ := people[k].c.next()
			switch m.Type {
			case "message":
				got[k] = append(got[k], m.Text)
			case "status":
				got[k] = append(got[k], "status:"+m.Backplane)
			}
		}
	}
	say(0, half)
	for k := range people {
		read(k, 2*half)
	}
	ns.Shutdown()
	ns.WaitForShutdown()
	say(half, perPerson) // during the outage
	if d, _ := time.ParseDuration(os.Getenv("CHAT_OUTAGE")); d > 0 {
		time.Sleep(d) // a measurement of a longer outage: CHAT_OUTAGE=10s
	}
	natstest.StartJetStream(t, port, dir)
	for k := range people {
		read(k, 2*perPerson+2) // the messages and two status changes
	}
	for _, p := range people { // nothing more: a marker comes next
		p.c.send(map[string]string{"type": "say", "text": p.nick + ":end"})
	}
	for k, p := range people {
		var msgs []string
		next := map[string]int{}
		sawDown, sawUp := false, false
		for _, m := range got[k] {
			switch m {
			case "status:down":
				sawDown = true
				continue
			case "status:up":
				sawUp = sawDown
				continue
			}
			msgs = append(msgs, m)
			nick, num, _ := strings.Cut(m, ":")
			if want := strconv.Itoa(next[nick]); num != want {
				t.Fatalf("%s got %q, want %s:%s (each message once, in order)", p.nick, m, nick, want)
			}
			next[nick]++
		}
		if !sawDown || !sawUp {
			t.Fatalf("%s was not told of the outage and its end: %v", p.nick, got[k])
		}
		if len(msgs) != 2*perPerson {
			t.Fatalf("%s got %d messages, want %d", p.nick, len(msgs), 2*perPerson)
		}
		if k%2 == 1 && strings.Join(msgs, ",") != strings.Join(filterMsgs(got[k-1]), ",") {
			t.Fatalf("room %s: the two nodes delivered different orders", p.room)
		}
		for m := p.c.nextOf("message"); !strings.HasSuffix(m.Text, ":end"); m = p.c.nextOf("message") {
			t.Fatalf("%s got %q after all messages: a duplicate", p.nick, m.Text)
		}
	}
}

func filterMsgs(got []string) []string {
	var out []string
	for _, m := range got {
		if !strings.HasPrefix(m, "status:") {
			out = append(out, m)
		}
	}
	return out
}

// TestCrashedNodeMembersLeaveWithinBound: a node in a child process is
// killed with SIGKILL; the other node's people see its members leave, with
// a notice, within expiry + check. Killed and started again at once, the
// node's people rejoining appear once: a leave ("server restarted"), then
// a join, never two joins.
func TestCrashedNodeMembersLeaveWithinBound(t *testing.T) {
	ns := natstest.StartJetStream(t, 0, t.TempDir())
	timing := presenceTiming{alive: 200 * time.Millisecond, expiry: time.Second, check: 100 * time.Millisecond}
	n1 := startChat(t, config{natsURL: ns.ClientURL(), timing: timing})
	ann := dialChat(t, n1)
	ann.join("ann", "lobby")
	child := childConfig{NATS: ns.ClientURL(), Data: t.TempDir(), AliveMs: 200, ExpiryMs: 1000, CheckMs: 100}
	p := startNodeProcess(t, child)
	dialChat(t, p.server()).join("bob", "lobby")
	if m := ann.nextOf("join"); m.From != "bob" {
		t.Fatalf("join notice for %q, want bob", m.From)
	}

	killed := time.Now()
	p.kill(t)
	m := ann.nextOf("leave")
	took := time.Since(killed)
	if m.From != "bob" || m.Reason != reasonLost {
		t.Fatalf("leave notice %+v, want bob, %q", m, reasonLost)
	}
	if bound := timing.expiry + timing.check + 300*time.Millisecond; took > bound {
		t.Fatalf("bob left %v after the crash, bound %v", took, bound)
	}

	// A quick kill and restart on the same -data: one leave, one join.
	p = startNodeProcess(t, child)
	dialChat(t, p.server()).join("bob", "lobby")
	if m := ann.nextOf("join"); m.From != "bob" {
		t.Fatalf("join notice for %q, want bob", m.From)
	}
	p.kill(t)
	p = startNodeProcess(t, child)
	dialChat(t, p.server()).join("bob", "lobby")
	for _, want := range []string{"leave", "join"} {
		m := ann.next2("join", "leave")
		if m.Type != want || m.From != "bob" {
			t.Fatalf("after a quick restart got %s of %s, want %s of bob", m.Type, m.From, want)
		}
		if want == "leave" && m.Reason != reasonRestarted {
			t.Fatalf("leave reason %q, want %q", m.Reason, reasonRestarted)
		}
	}
}

// next2 skips frames until one of type a or b arrives.
func (c *chatClient) next2(a, b string) outbound {
	c.t.Helper()
	for {
		if m, _ := c.next(); m.Type == a || m.Type == b {
			return m
		}
	}
}
