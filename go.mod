module github.com/wssgo/wss

go 1.26
