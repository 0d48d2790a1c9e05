module github.com/wssgo/wss

go 1.26.0

require (
	github.com/gorilla/websocket v1.5.3
	golang.org/x/sys v0.50.0
)
