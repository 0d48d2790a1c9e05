package main

import (
	"bytes"
	"image"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
)

// noisePNG is a photo-like image that does not compress: w × h random
// pixels.
func noisePNG(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	r := rand.New(rand.NewPCG(1, 2))
	for i := range img.Pix {
		if i%4 == 3 {
			img.Pix[i] = 255
		} else {
			img.Pix[i] = uint8(r.Uint32())
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestBrowserPhotoScaledLinksAndViewer: a 4 MB photo is scaled down in
// the page below the 1 MiB limit, keeping its aspect ratio, with a
// progress bar, and opens in the page's viewer; an http(s) address in a
// message is a safe link while markup and other schemes stay text.
func TestBrowserPhotoScaledLinksAndViewer(t *testing.T) {
	browser := newBrowser(t)
	const limit = 1 << 20
	srv := startChat(t, config{lim: easyLimits(), maxMessage: limit})
	ann := openTab(t, browser, "ann", srv.url())
	ann.login("ann")
	bob := openTab(t, browser, "bob", srv.url())
	bob.login("bob")

	photo := noisePNG(t, 1400, 1000)
	if len(photo) < 4_000_000 {
		t.Fatalf("the photo has %d bytes, want at least 4 MB", len(photo))
	}
	path := filepath.Join(t.TempDir(), "photo.png")
	if err := os.WriteFile(path, photo, 0o644); err != nil {
		t.Fatal(err)
	}
	ann.do(chromedp.Evaluate[chromedp.Void](`new MutationObserver(() => { if (!document.getElementById("progress").hidden) window.sawProgress = true })
		.observe(document.getElementById("progress"), {attributes: true})`))
	ann.do(chromedp.SetUploadFiles(chromedp.ID("file"), []string{path}))
	arrived := `[...document.querySelectorAll(".msg .body img")].find(i => i.complete && i.naturalWidth > 0)`
	bob.until("the scaled photo", `!!`+arrived)
	size := eval[int](bob, arrived+`.dataset.size | 0`)
	ratio := eval[float64](bob, `(i => i.naturalWidth / i.naturalHeight)(`+arrived+`)`)
	if size <= 0 || size > limit || ratio < 1.39 || ratio > 1.41 {
		t.Fatalf("photo arrived with %d bytes (limit %d), aspect %.3f (want 1.4)", size, limit, ratio)
	}
	if !eval[bool](ann, `window.sawProgress === true`) {
		t.Fatal("no progress shown while the photo was prepared and sent")
	}
	if eval[bool](ann, `!document.getElementById("toast").hidden`) {
		t.Fatalf("error shown: %s", eval[string](ann, `document.getElementById("toast").textContent`))
	}

	// The viewer: the photo over the page, closed with Escape.
	bob.do(chromedp.Evaluate[chromedp.Void](arrived + `.click()`))
	bob.until("the viewer", `!document.getElementById("viewer").hidden && document.querySelector("#viewer img").src === `+arrived+`.src`)
	bob.do(chromedp.KeyEvent("\x1b"))
	bob.until("the viewer closed", `document.getElementById("viewer").hidden`)

	text := `docs: https://example.com/a?b=1, not javascript:alert(1) nor <a href="https://evil.example">x</a>`
	bob.say(text)
	ann.until("the message with a link", hasMessage(text))
	links := eval[[]string](ann, `[...document.querySelectorAll(".msg .body a")].map(a => a.href + " " + a.rel + " " + a.target + " " + a.textContent)`)
	// (The address in the markup is an https address like any other: a
	// link to it, the markup around it text.)
	if len(links) != 2 || links[0] != "https://example.com/a?b=1 noopener noreferrer _blank https://example.com/a?b=1" ||
		links[1] != "https://evil.example/ noopener noreferrer _blank https://evil.example" {
		t.Fatalf("links %q", links)
	}
}

// TestBrowserNicknameReasonsAndChange: a blank or overlong nickname is
// refused with a reason on the form, a nickname can be changed, and the
// others see the change.
func TestBrowserNicknameReasonsAndChange(t *testing.T) {
	browser := newBrowser(t)
	srv := startChat(t, config{lim: easyLimits()})
	ann := openTab(t, browser, "ann", srv.url())
	reason := `document.getElementById("login-error").textContent`
	for _, c := range []struct{ nick, want string }{
		{"   ", "A nickname needs at least one letter or digit."},
		{string(bytes.Repeat([]byte("n"), 200)), "A nickname has at most 24 characters (this one has 200)."},
		{"ann<b>", "A nickname may hold letters, digits, spaces and _ - . only."},
	} {
		ann.do(
			chromedp.WaitVisible(chromedp.ID("nick-input")),
			chromedp.Evaluate[chromedp.Void](`document.getElementById("nick-input").value = ""`),
			chromedp.SendKeys(chromedp.ID("nick-input"), c.nick),
			chromedp.Click(chromedp.CSS(`#login-form button`)),
		)
		ann.until("the reason for "+c.nick, reason+" === "+jsString(c.want))
	}
	ann.login("ann")
	bob := openTab(t, browser, "bob", srv.url())
	bob.login("bob")

	ann.do(chromedp.Click(chromedp.ID("rename")))
	ann.do(
		chromedp.WaitVisible(chromedp.ID("nick-input")),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("nick-input").value = ""`),
		chromedp.SendKeys(chromedp.ID("nick-input"), "Bob"),
		chromedp.Click(chromedp.CSS(`#login-form button`)),
	)
	ann.until("the refusal on the form", `!document.getElementById("login").hidden && `+reason+`.includes("already in room lobby")`)
	ann.login("annie")
	bob.until("the new name", usersAre("annie,bob")+" && "+hasNotice("ann is now annie"))
	if eval[bool](bob, hasNotice("annie joined")) {
		t.Fatal("the change of nickname reads as a join")
	}
	ann.say("now annie")
	ann.until("own message marked", `[...document.querySelectorAll(".msg.mine")].some(m => m.querySelector(".from").textContent === "annie" && m.querySelector(".you"))`)

	// Older messages carry their date.
	if got := eval[string](ann, `formatTime(new Date(2025, 0, 2, 9, 5).getTime())`); !bytes.Contains([]byte(got), []byte("2025")) {
		t.Fatalf("a message of 2 Jan 2025 is shown at %q", got)
	}
}
