package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Tests of the page as people use it: at phone size, across page
// navigation, scrolled up, offline.

// easyLimits lets one test address send and switch rooms quickly: every
// tab of a test comes from 127.0.0.1.
func easyLimits() limits {
	l := defaultLimits()
	l.msgRate, l.addrMsgRate, l.joinRate, l.addrJoinRate = 200, 400, 20, 40
	return l
}

// phone makes the tab a 390 × 844 touch screen.
func (tb *tab) phone(height int64) {
	tb.t.Helper()
	tb.do(chromedp.EmulateViewport(390, height, chromedp.EmulateMobile))
	tb.until("the phone width", `innerWidth === 390`)
}

// usersAre is a JavaScript test for the online list.
func usersAre(list string) string {
	return fmt.Sprintf(`[...document.querySelectorAll("#users li")].map(l => l.textContent).join(",") === %q`, list)
}

// hasNotice is a JavaScript test for a notice starting with text.
func hasNotice(text string) string {
	return fmt.Sprintf(`[...document.querySelectorAll(".notice")].some(n => n.textContent.startsWith(%q))`, text)
}

// TestBrowserPhoneRoomListTwoTaps: at 390 × 844 the room list (with a room
// only the server knows of) and the online list are one tap away, a room is
// joined with a second tap, every control is at least 44 px, and the
// composer stays on screen when the keyboard takes half the height.
func TestBrowserPhoneRoomListTwoTaps(t *testing.T) {
	browser := newBrowser(t)
	srv := startChat(t, config{lim: easyLimits()})
	bob := openTab(t, browser, "bob", srv.url()+"#dev")
	bob.login("bob")
	ann := openTab(t, browser, "ann", srv.url())
	ann.phone(844)
	ann.login("ann")

	drawerShown := `(() => { const r = document.getElementById("sidebar").getBoundingClientRect(); return r.left >= 0 && r.right > 200 })()`
	if eval[bool](ann, drawerShown) {
		t.Fatal("the drawer is open before the tap")
	}
	ann.do(chromedp.Click(chromedp.ID("menu")))
	ann.until("the drawer", drawerShown)
	// The count of people comes from the server's list only.
	ann.until("the server's room dev in the list", `[...document.querySelectorAll("#rooms a")].some(a => a.firstChild.textContent === "# dev" && a.querySelector(".count")?.textContent === "1")`)
	ann.until("the online list", usersAre("ann"))

	// Every control on screen is a touch target of at least 44 × 44 px.
	small := eval[[]string](ann, `[...document.querySelectorAll("button, a, input, textarea, label.attach")].filter(e => {
		const r = e.getBoundingClientRect();
		return r.width > 0 && r.right > 0 && r.left < innerWidth && (r.height < 44 || (e.tagName === "BUTTON" && r.width < 44));
	}).map(e => (e.id || e.tagName) + " " + e.getBoundingClientRect().width + "x" + e.getBoundingClientRect().height)`)
	if len(small) > 0 {
		t.Fatalf("touch targets under 44 px: %v", small)
	}

	ann.do(chromedp.Click(chromedp.CSS(`#rooms a[href="#dev"]`)))
	ann.until("the join of dev", `document.getElementById("room-name").textContent === "dev" && state.joined && `+usersAre("ann,bob"))
	ann.until("the drawer closed", `!`+drawerShown)
	bob.until("ann's arrival", hasNotice("ann joined"))

	// The keyboard: the viewport shrinks, the composer and the last
	// message stay in view.
	bob.say("hello on the phone")
	ann.until("bob's message", hasMessage("hello on the phone"))
	ann.phone(420)
	ann.until("the composer above the keyboard", `document.getElementById("composer").getBoundingClientRect().bottom <= innerHeight && innerHeight === 420`)
	ann.until("the last message in view", `(() => { const m = document.getElementById("messages"); return m.scrollHeight - m.scrollTop - m.clientHeight < 2 })()`)
}

// TestBrowserPageHideLeavesPageShowRejoins: a tab navigated to another page
// (kept in the back/forward cache) leaves the room within 1 s, and comes
// back within 2 s of being shown again.
func TestBrowserPageHideLeavesPageShowRejoins(t *testing.T) {
	browser := newBrowser(t)
	srv := startChat(t, config{lim: easyLimits()})
	ann := openTab(t, browser, "ann", srv.url())
	ann.login("ann")
	bob := openTab(t, browser, "bob", srv.url())
	bob.login("bob")
	ann.until("bob online", usersAre("ann,bob"))
	bob.do(chromedp.Evaluate[chromedp.Void](`window.sameDocument = true`))

	start := time.Now()
	bob.do(chromedp.Navigate(srv.url() + "app.js"))
	ann.until("bob's leave", usersAre("ann"))
	if d := time.Since(start); d > time.Second {
		t.Fatalf("bob left %v after the navigation, want within 1 s", d)
	}
	ann.until("bob's leave notice", hasNotice("bob left (closed the page)"))

	start = time.Now()
	bob.do(chromedp.Evaluate[chromedp.Void](`history.back()`)) // NavigateBack waits for a load, which a restore has not
	ann.until("bob's return", usersAre("ann,bob"))
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("bob was back %v after the navigation, want within 2 s", d)
	}
	if !eval[bool](bob, `window.sameDocument === true`) {
		t.Fatal("the page was reloaded, not restored from the back/forward cache")
	}
	// (chromedp's DOM queries do not follow a restored page: the message is
	// typed by script.)
	bob.do(chromedp.Evaluate[chromedp.Void](`document.getElementById("text").value = "back from the cache"; document.getElementById("composer").requestSubmit()`))
	ann.until("bob's message", hasMessage("back from the cache"))
}

// TestBrowserNewMessagesMarker: scrolled up, a new message shows a "new
// messages" marker and a count in the title; the marker jumps to the
// bottom. At the bottom, the view stays there through a resize.
func TestBrowserNewMessagesMarker(t *testing.T) {
	browser := newBrowser(t)
	srv := startChat(t, config{lim: easyLimits()})
	ann := openTab(t, browser, "ann", srv.url())
	ann.login("ann")
	bob := dialChat(t, srv)
	bob.join("bob", "lobby")
	for i := range 40 {
		bob.send(map[string]string{"type": "say", "text": fmt.Sprintf("line %d", i)})
	}
	ann.until("the 40 lines", hasMessage("line 39"))
	bottom := `(() => { const m = document.getElementById("messages"); return m.scrollHeight - m.scrollTop - m.clientHeight < 2 })()`
	ann.until("the view at the bottom", bottom)

	// A smaller window (as with a phone keyboard): still at the bottom.
	ann.do(chromedp.EmulateViewport(1180, 400))
	ann.until("the view at the bottom after the resize", `innerHeight === 400 && `+bottom)

	ann.do(chromedp.Evaluate[chromedp.Void](`document.getElementById("messages").scrollTop = 0`))
	ann.until("scrolled up", `!state.pinned`)
	bob.send(map[string]string{"type": "say", "text": "while you were up there"})
	ann.until("the marker", `!document.getElementById("jump").hidden && document.getElementById("jump").textContent === "1 new message ↓" && document.title === "(1) #lobby · wss chat"`)
	if eval[bool](ann, bottom) {
		t.Fatal("the view moved to the bottom while scrolled up")
	}
	ann.do(chromedp.Click(chromedp.ID("jump")))
	ann.until("the jump", bottom+` && document.getElementById("jump").hidden && document.title === "#lobby · wss chat"`)
}

// TestBrowserOfflineSaysWhatWaitsAndSendsOnce: with the server gone the
// page says so in words and what still works; a message typed meanwhile
// is sent once when it is back.
func TestBrowserOfflineSaysWhatWaitsAndSendsOnce(t *testing.T) {
	browser := newBrowser(t)
	data := t.TempDir()
	srv := startChat(t, config{lim: easyLimits(), dataDir: data})
	ann := openTab(t, browser, "ann", srv.url())
	ann.login("ann")
	bob := openTab(t, browser, "bob", srv.url())
	bob.login("bob")

	// A room switch reads as a move.
	bob.do(chromedp.Evaluate[chromedp.Void](`location.hash = "#dev"`))
	ann.until("bob's move", hasNotice("bob went to #dev"))
	bob.do(chromedp.Evaluate[chromedp.Void](`location.hash = "#lobby"`))
	bob.until("bob back in the lobby", `document.getElementById("room-name").textContent === "lobby" && state.joined`)
	ann.until("bob back", usersAre("ann,bob"))

	addr := srv.addr
	srv.stop()
	ann.until("the offline state", `!document.getElementById("offline").hidden && document.getElementById("users").classList.contains("stale")`)
	if s := eval[string](ann, `document.getElementById("status").textContent`); s != "The server is restarting. Reconnecting…" && s != "The connection was lost. Reconnecting…" && s != "Connecting…" {
		t.Fatalf("status %q", s)
	}
	ann.say("typed while offline")
	ann.until("the waiting message", `document.querySelectorAll(".msg.pending").length === 1`)
	srv = startChat(t, config{addr: addr, lim: easyLimits(), dataDir: data})
	once := `[...document.querySelectorAll(".msg .body")].filter(b => b.textContent === "typed while offline").length === 1`
	bob.until("the offline message, once", once)
	ann.until("the offline message sent, once", once+` && document.querySelectorAll(".msg.pending").length === 0 && document.getElementById("offline").hidden`)
	_ = srv
}

// TestBrowserUnreadCountsPerRoomAndTitle: messages in a room visited
// before are counted as unread beside it in the rooms list and in the tab
// title, until the room is opened again.
func TestBrowserUnreadCountsPerRoomAndTitle(t *testing.T) {
	browser := newBrowser(t)
	srv := startChat(t, config{lim: easyLimits()})
	bob := dialChat(t, srv)
	bob.join("bob", "dev")
	bob.send(map[string]string{"type": "say", "text": "seen by ann"})
	ann := openTab(t, browser, "ann", srv.url()+"#dev")
	ann.login("ann")
	ann.until("the message in dev", hasMessage("seen by ann"))
	ann.do(chromedp.Evaluate[chromedp.Void](`location.hash = "#lobby"`))
	ann.until("the lobby", `state.room === "lobby" && state.joined`)

	for i := range 3 {
		bob.send(map[string]string{"type": "say", "text": fmt.Sprintf("unread %d", i)})
	}
	badge := `document.querySelector('#rooms a[href="#dev"] .unread')`
	ann.until("3 unread in dev", badge+`?.textContent === "3" && document.title === "(3) #lobby · wss chat"`)

	ann.do(chromedp.Click(chromedp.CSS(`#rooms a[href="#dev"]`)))
	ann.until("dev read", `state.room === "dev" && state.joined && `+hasMessage("unread 2"))
	ann.do(chromedp.Evaluate[chromedp.Void](`location.hash = "#lobby"`))
	ann.until("the lobby again", `state.room === "lobby" && state.joined`)
	ann.do(chromedp.Evaluate[chromedp.Void](`send({type: "rooms"})`))
	ann.until("no unread", `state.serverRooms.some(r => r.name === "dev" && r.count === 4) && `+badge+` === null && document.title === "#lobby · wss chat"`)
}
