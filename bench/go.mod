module github.com/wssgo/wss/bench

go 1.26.0

// The wss servers are built from this same checkout, never from a published version.
replace github.com/wssgo/wss => ../

require (
	github.com/coder/websocket v1.8.15
	github.com/gobwas/ws v1.5.0
	github.com/gorilla/websocket v1.5.3
	github.com/lxzan/gws v1.8.9
	golang.org/x/sys v0.50.0
)

require (
	github.com/dolthub/maphash v0.1.0 // indirect
	github.com/gobwas/httphead v0.1.0 // indirect
	github.com/klauspost/compress v1.20.4 // indirect
	github.com/wssgo/wss v0.0.0-00010101000000-000000000000
)
