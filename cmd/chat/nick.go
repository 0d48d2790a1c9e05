package main

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/secure/precis"
)

// checkNick enforces the PRECIS Nickname profile (RFC 8266) on a nickname
// and the chat's own rules on top: 1 to 24 characters, letters and digits
// with spaces and _ - . between them, nothing invisible, one script. It
// returns the nickname to show and the key two nicknames collide on: case
// folded, separators dropped, look-alike letters of other scripts mapped
// to Latin, so "Ann", "ann.", "𝓪𝓷𝓷" and Cyrillic "аnn" all stand for "ann".
func checkNick(s string) (nick, key string, err error) {
	nick, perr := precis.Nickname.String(s)
	if perr != nil || nick == "" {
		if strings.TrimFunc(s, invisible) == "" {
			return "", "", refuse("bad_nick", "A nickname cannot be blank or invisible.")
		}
		return "", "", refuse("bad_nick", "That nickname holds characters a nickname may not have.")
	}
	if n := utf8.RuneCountInString(nick); n > maxNickLen {
		return "", "", refuse("bad_nick", "A nickname has 1 to 24 characters.")
	}
	visible := false
	for _, r := range nick {
		switch {
		case invisible(r):
			return "", "", refuse("bad_nick", "A nickname cannot hold invisible characters.")
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			visible = true
		case !strings.ContainsRune(" _-.", r):
			return "", "", refuse("bad_nick", "A nickname may hold letters, digits, spaces and _ - . only.")
		}
	}
	if !visible {
		return "", "", refuse("bad_nick", "A nickname needs at least one letter or digit.")
	}
	if mixedScripts(nick) {
		return "", "", refuse("bad_nick", "A nickname cannot mix alphabets (such as Latin and Cyrillic).")
	}
	return nick, nickKey(nick), nil
}

// invisible reports runes that show nothing: spaces aside, format
// characters, default-ignorable ones (the Hangul fillers among them) and
// variation selectors.
func invisible(r rune) bool {
	return unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r) ||
		unicode.Is(unicode.Variation_Selector, r) || r == 'ㅤ' || r == 'ﾠ' || r == '\u115f' || r == '\u1160'
}

// scriptGroups are the scripts a nickname may use, one group per nick.
// Han, kana and Hangul go together, as Japanese and Korean names mix them.
var scriptGroups = []struct {
	name    string
	scripts []*unicode.RangeTable
}{
	{"latin", []*unicode.RangeTable{unicode.Latin}},
	{"cyrillic", []*unicode.RangeTable{unicode.Cyrillic}},
	{"greek", []*unicode.RangeTable{unicode.Greek}},
	{"armenian", []*unicode.RangeTable{unicode.Armenian}},
	{"hebrew", []*unicode.RangeTable{unicode.Hebrew}},
	{"arabic", []*unicode.RangeTable{unicode.Arabic}},
	{"cjk", []*unicode.RangeTable{unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul, unicode.Bopomofo}},
	{"devanagari", []*unicode.RangeTable{unicode.Devanagari}},
	{"thai", []*unicode.RangeTable{unicode.Thai}},
	{"georgian", []*unicode.RangeTable{unicode.Georgian}},
	{"cherokee", []*unicode.RangeTable{unicode.Cherokee}},
}

// mixedScripts reports letters of more than one script group; a letter of
// a script not listed counts as a group of its own.
func mixedScripts(s string) bool {
	group := ""
	for _, r := range s {
		if !unicode.IsLetter(r) {
			continue
		}
		g := "other"
		for _, sg := range scriptGroups {
			if unicode.In(r, sg.scripts...) {
				g = sg.name
				break
			}
		}
		if group != "" && g != group {
			return true
		}
		group = g
	}
	return false
}

// lookalikes maps Cyrillic and Greek letters that look like Latin ones
// (after case folding) to those, after Unicode's confusables.
var lookalikes = map[rune]rune{
	'а': 'a', 'в': 'b', 'е': 'e', 'ё': 'e', 'к': 'k', 'м': 'm', 'н': 'h', 'о': 'o', 'р': 'p', 'с': 'c',
	'т': 't', 'у': 'y', 'х': 'x', 'і': 'i', 'ї': 'i', 'ј': 'j', 'ѕ': 's', 'ԁ': 'd', 'һ': 'h', 'ԛ': 'q',
	'ԝ': 'w', 'ӏ': 'l', 'ь': 'b', 'п': 'n',
	'α': 'a', 'β': 'b', 'ε': 'e', 'η': 'n', 'ι': 'i', 'κ': 'k', 'μ': 'u', 'ν': 'v', 'ο': 'o', 'ρ': 'p',
	'τ': 't', 'υ': 'u', 'χ': 'x', 'ω': 'w', 'ς': 'c', 'σ': 'o', 'γ': 'y',
	'0': 'o', '1': 'l', 'ı': 'i',
}

// nickKey is what two nicknames must differ in: case folded, without the
// separators, look-alikes mapped.
func nickKey(nick string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(nick) {
		if strings.ContainsRune(" _-.", r) {
			continue
		}
		if l, ok := lookalikes[r]; ok {
			r = l
		}
		b.WriteRune(r)
	}
	return b.String()
}
