package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/wssgo/wss/internal/natstest"
)

const chromiumPath = "/usr/bin/chromium"

// newBrowser starts headless chromium with a fresh profile and returns its
// context. Without chromium the test is skipped, or fails under CI=true.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("chromium is required under CI: %v", err)
		}
		t.Skipf("no browser: %v (install Debian's chromium)", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1180, 760),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// The first Do starts the browser; its context has no timeout, as a
	// timeout there would end the browser with it.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// tab is one browser tab on the chat page.
type tab struct {
	t    *testing.T
	ctx  context.Context
	stop context.CancelFunc
	name string
}

// openTab opens a new tab on url.
func openTab(t *testing.T, browser context.Context, name, url string) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser)
	if err := chromedp.Do(ctx); err != nil { // opens the tab, no timeout
		t.Fatal(err)
	}
	tb := &tab{t: t, ctx: ctx, stop: cancel, name: name}
	tb.do(chromedp.Navigate(url))
	return tb
}

// do runs actions with a timeout, in a child context of the tab.
func (tb *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 15*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		tb.t.Fatalf("%s: %v", tb.name, err)
	}
}

// until waits for a JavaScript expression to be true in the tab.
func (tb *tab) until(what, expr string) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 15*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr)); err != nil {
		tb.t.Fatalf("%s: waiting for %s: %v", tb.name, what, err)
	}
}

func eval[T any](tb *tab, expr string) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 15*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		tb.t.Fatalf("%s: %s: %v", tb.name, expr, err)
	}
	return v
}

// login picks a nickname in the login dialog.
func (tb *tab) login(nick string) {
	tb.t.Helper()
	tb.do(
		chromedp.WaitVisible(chromedp.ID("nick-input")),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("nick-input").value = ""`),
		chromedp.SendKeys(chromedp.ID("nick-input"), nick),
		chromedp.Click(chromedp.CSS(`#login-form button`)),
	)
	tb.until("the welcome", fmt.Sprintf(`document.getElementById("me-nick").textContent === %q && document.getElementById("login").hidden`, nick))
}

// say types a message and clicks Send. (Enter also sends, but the key
// events chromedp sends type the Enter as a character too.)
func (tb *tab) say(text string) {
	tb.t.Helper()
	tb.do(chromedp.SendKeys(chromedp.ID("text"), text), chromedp.Click(chromedp.ID("send")))
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string { return fmt.Sprintf("%q", s) }

// hasMessage is a JavaScript test for a message body with exactly text.
func hasMessage(text string) string {
	return fmt.Sprintf(`[...document.querySelectorAll(".msg .body")].some(b => b.textContent === %s)`, jsString(text))
}

// TestBrowserChat runs the chat page in real headless chromium tabs: two
// people chat, a third joins and sees the history and who is online, an
// image reaches the others, markup stays text, an oversized message gets a
// visible error, a leave notice shows the close status, and the pages
// reconnect by themselves when the server restarts.
func TestBrowserChat(t *testing.T) {
	browser := newBrowser(t)
	data := t.TempDir()
	srv := startChat(t, config{maxMessage: 256 << 10, dataDir: data})

	ann := openTab(t, browser, "ann", srv.url())
	ann.login("ann")
	bob := openTab(t, browser, "bob", srv.url())
	bob.login("bob")

	ann.say("Hi Bob! Did the build pass?")
	bob.until("ann's message", hasMessage("Hi Bob! Did the build pass?"))
	bob.say("It did, all green.")
	ann.until("bob's message", hasMessage("It did, all green."))

	// Markup is shown as text, never run or parsed.
	evil := `<script>window.pwned=1</script><img src=x onerror="window.pwned=2"><b>bold?</b>`
	bob.say(evil)
	ann.until("the markup message", hasMessage(evil))
	if n := eval[int](ann, `document.querySelectorAll(".msg .body b, .msg .body script, .msg .body img[src='x']").length`); n != 0 {
		t.Fatalf("markup became %d elements", n)
	}
	if pwned := eval[bool](ann, `window.pwned !== undefined`); pwned {
		t.Fatal("a script from a message ran")
	}

	// An image picked in the file dialog reaches the other tab.
	pic := filepath.Join(t.TempDir(), "gradient.png")
	if err := os.WriteFile(pic, pngImage(t, 320, 180), 0o644); err != nil {
		t.Fatal(err)
	}
	ann.do(chromedp.SetUploadFiles(chromedp.ID("file"), []string{pic}))
	bob.until("the image", `[...document.querySelectorAll(".msg .body img")].some(i => i.complete && i.naturalWidth === 320)`)

	// A third person joins: history and presence.
	cat := openTab(t, browser, "cat", srv.url())
	cat.login("cat")
	cat.until("the history", hasMessage("Hi Bob! Did the build pass?")+" && "+hasMessage(evil)+
		` && [...document.querySelectorAll(".msg .body img")].some(i => i.complete && i.naturalWidth === 320)`+
		` && document.querySelector(".divider") !== null`)
	cat.until("the presence list", `[...document.querySelectorAll("#users li")].map(l => l.textContent).join(",") === "ann,bob,cat"`)
	ann.until("cat's join notice", `[...document.querySelectorAll(".notice")].some(n => n.textContent.startsWith("cat joined"))`)

	// An oversized message (bypassing the page's own check) gets a visible
	// error and the connection stays.
	cat.do(chromedp.Evaluate[chromedp.Void](`state.ws.send(JSON.stringify({type: "say", text: "x".repeat(2500)}))`))
	cat.until("the error", `!document.getElementById("toast").hidden && document.getElementById("toast").textContent.includes("2000 characters")`)
	cat.say("sorry, too long")
	ann.until("cat's message after the error", hasMessage("sorry, too long"))

	if path := os.Getenv("CHAT_SCREENSHOT"); path != "" {
		png, err := chromedp.Run(ann.ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// Closing cat's tab: the others see it leave, with the close status.
	cat.stop()
	ann.until("cat's leave notice", `[...document.querySelectorAll(".notice")].some(n => n.textContent.startsWith("cat left (closed the page)"))`)
	ann.until("the presence list without cat", `[...document.querySelectorAll("#users li")].map(l => l.textContent).join(",") === "ann,bob"`)

	// The server restarts on the same address and -data: the pages
	// reconnect and rejoin by themselves, resume after the last message
	// they show (keeping what they show, each message once), and get what
	// was said while they were away.
	addr := srv.addr
	srv.stop()
	ann.until("the disconnect", `document.getElementById("status").classList.contains("offline")`)
	srv = startChat(t, config{addr: addr, maxMessage: 256 << 10, dataDir: data})
	for _, tb := range []*tab{ann, bob} {
		tb.until("the reconnect", `document.getElementById("status").classList.contains("online") && state.joined`)
	}
	ann.say("back again")
	bob.until("a message after the restart", hasMessage("back again"))
	once := `[...document.querySelectorAll(".msg .body")].filter(b => b.textContent === "Hi Bob! Did the build pass?").length === 1`
	for _, tb := range []*tab{ann, bob} {
		tb.until("the history still on screen, once", once+" && "+hasMessage("It did, all green."))
	}
	// A new tab after the restart gets the history from the store.
	dan := openTab(t, browser, "dan", srv.url())
	dan.login("dan")
	dan.until("the history after the restart", once+" && "+hasMessage("back again"))
	if got := eval[string](bob, `document.getElementById("users").textContent`); !strings.Contains(got, "ann") {
		t.Fatalf("presence after restart %q", got)
	}
}

// TestBrowserBannerWhileBackplaneDown: while the chat's NATS server is
// down the page shows a banner, a message sent meanwhile waits, and when
// NATS is back the banner goes and the message reaches the other tab once.
func TestBrowserBannerWhileBackplaneDown(t *testing.T) {
	browser := newBrowser(t)
	dir := t.TempDir()
	ns := natstest.StartJetStream(t, 0, dir)
	port := ns.Addr().(*net.TCPAddr).Port
	srv := startChat(t, config{natsURL: ns.ClientURL()})
	ann := openTab(t, browser, "ann", srv.url())
	ann.login("ann")
	bob := openTab(t, browser, "bob", srv.url())
	bob.login("bob")
	banner := `!document.getElementById("banner").hidden`
	if eval[bool](ann, banner) {
		t.Fatal("banner shown while NATS is up")
	}

	ns.Shutdown()
	ns.WaitForShutdown()
	ann.until("the banner", banner)
	ann.say("sent during the outage")
	natstest.StartJetStream(t, port, dir)
	ann.until("the banner gone", "!("+banner+")")
	bob.until("the message sent during the outage", hasMessage("sent during the outage"))
	bob.until("it once", `[...document.querySelectorAll(".msg .body")].filter(b => b.textContent === "sent during the outage").length === 1`)
}
