module github.com/wssgo/wss

go 1.26

require github.com/klauspost/compress v1.20.4

require github.com/coder/websocket v1.8.15 // indirect
