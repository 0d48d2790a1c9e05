module github.com/wssgo/wss

go 1.26.0

require (
	github.com/coder/websocket v1.8.15
	github.com/gorilla/websocket v1.5.3
	github.com/klauspost/compress v1.20.4
	golang.org/x/sys v0.50.0
)
