module github.com/wssgo/wss/interop

go 1.26.0

// wss is built from this same checkout, never from a published version.
replace github.com/wssgo/wss => ../

require (
	github.com/coder/websocket v1.8.15
	github.com/gorilla/websocket v1.5.3
	github.com/wssgo/wss v0.0.0-00010101000000-000000000000
)

require (
	github.com/klauspost/compress v1.20.4 // indirect
	golang.org/x/sys v0.50.0 // indirect
)
