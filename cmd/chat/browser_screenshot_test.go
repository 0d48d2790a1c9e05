package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserScreenshots stages a conversation and takes the page at
// 1280 × 800 and at 390 × 844 (the chat, and the drawer open). With
// CHAT_SCREENSHOTS=dir the pictures are written there (docs/ keeps them:
// CHAT_SCREENSHOTS=$PWD/docs go test -run TestBrowserScreenshots ./cmd/chat).
func TestBrowserScreenshots(t *testing.T) {
	browser := newBrowser(t)
	srv := startChat(t, config{lim: easyLimits()})
	ann := openTab(t, browser, "ann", srv.url())
	ann.do(chromedp.EmulateViewport(1280, 800))
	ann.login("ann")
	bob := openTab(t, browser, "bob", srv.url())
	bob.login("bob")
	cat := openTab(t, browser, "cat", srv.url())
	cat.phone(844)
	cat.login("cat")
	dan := openTab(t, browser, "dan", srv.url())
	dan.login("dan")

	ann.say("Hi Bob! Did the build pass?")
	bob.say("It did, all green: https://ci.example.com/runs/42")
	pic := filepath.Join(t.TempDir(), "gradient.png")
	if err := os.WriteFile(pic, pngImage(t, 320, 180), 0o644); err != nil {
		t.Fatal(err)
	}
	bob.do(chromedp.SetUploadFiles(chromedp.ID("file"), []string{pic}))
	cat.say("<b>bold?</b> stays text, as it should")
	dan.do(chromedp.Evaluate[chromedp.Void](`location.hash = "#dev"`))
	ann.until("dan's move", hasNotice("dan went to #dev"))
	ann.say("Great, shipping it now.")
	for _, tb := range []*tab{ann, cat} {
		tb.until("the conversation", hasMessage("Great, shipping it now.")+
			` && [...document.querySelectorAll(".msg .body img")].some(i => i.complete && i.naturalWidth === 320)`)
	}

	ann.until("the rooms list", `[...document.querySelectorAll("#rooms a")].map(a => a.textContent).join(",") === "# dev1,# lobby3"`)

	dir := os.Getenv("CHAT_SCREENSHOTS")
	shot := func(tb *tab, name string) {
		t.Helper()
		png, err := chromedp.Run(tb.ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatal(err)
		}
		if len(png) == 0 {
			t.Fatalf("%s: empty screenshot", name)
		}
		if dir != "" {
			if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	shot(ann, "chat.png")
	shot(cat, "chat-phone.png")
	cat.do(chromedp.Click(chromedp.ID("menu")))
	cat.until("the drawer", `document.getElementById("sidebar").getBoundingClientRect().left >= 0`)
	shot(cat, "chat-phone-rooms.png")
}
