package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/wssgo/wss/pubsub"
	"github.com/wssgo/wss/pubsub/jsbus"
	"github.com/wssgo/wss/pubsub/natsbus"
)

// streamName and subjectPrefix name the chat's rooms in JetStream.
const (
	streamName    = "CHAT"
	subjectPrefix = "chat.rooms"
)

// connectNATS connects to the NATS servers of cfg.natsURL, or starts an
// embedded one with JetStream in cfg.dataDir, and returns the backplane
// (presence), the store (rooms) and a function that stops the embedded
// server once both are closed.
func connectNATS(cfg config, log *slog.Logger, node string, onState func(bool)) (*natsbus.Bus, pubsub.Store, func(), error) {
	url, extra, stop := cfg.natsURL, []nats.Option(nil), func() {}
	if url == "" {
		ns, err := startEmbedded(filepath.Join(cfg.dataDir, "jetstream"), int32(maxStored(cfg)+64<<10))
		if err != nil {
			return nil, nil, nil, err
		}
		url, extra = "nats://embedded", []nats.Option{nats.InProcessServer(ns)}
		stop = func() {
			ns.Shutdown()
			ns.WaitForShutdown()
		}
	}
	bus, err := natsbus.Connect(url, &natsbus.Options{Name: "wss-chat " + node, Logger: log, OnState: onState}, extra...)
	if err != nil {
		stop()
		return nil, nil, nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	store, err := jsbus.New(ctx, bus.Conn(), &jsbus.Options{
		Stream:     streamName,
		Prefix:     subjectPrefix,
		Limits:     pubsub.Limits{PerTopic: cfg.history, MaxBytes: cfg.historyBytes, MaxAge: cfg.historyAge},
		MaxMsgSize: int32(maxStored(cfg)),
		Replicas:   cfg.replicas,
		Node:       node,
		Logger:     log,
	})
	if err != nil {
		bus.Close()
		stop()
		return nil, nil, nil, fmt.Errorf("JetStream (is it enabled on %s?): %w", url, err)
	}
	if mp := bus.Conn().MaxPayload(); mp < int64(maxStored(cfg)+4<<10) {
		store.Close()
		bus.Close()
		stop()
		return nil, nil, nil, fmt.Errorf("-max-message %d needs the NATS servers' max_payload to be at least %d (it is %d)", cfg.maxMessage, maxStored(cfg)+4<<10, mp)
	}
	return bus, store, stop, nil
}

// maxStored bounds a stored room message: an image with its header.
func maxStored(cfg config) int { return cfg.maxMessage + 16<<10 }

// startEmbedded runs a NATS server with JetStream in this process, with no
// listening socket: the chat connects to it in-process.
func startEmbedded(dir string, maxPayload int32) (*server.Server, error) {
	ns, err := server.NewServer(&server.Options{
		MaxPayload: max(maxPayload, 1<<20),
		ServerName: "chat-embedded",
		JetStream:  true,
		StoreDir:   dir,
		DontListen: true,
		NoSigs:     true,
		NoLog:      true,
	})
	if err != nil {
		return nil, fmt.Errorf("embedded NATS: %w", err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		return nil, errors.New("embedded NATS: not ready in 10s")
	}
	return ns, nil
}

// nodeID returns this node's id, kept in dir so that a restarted node is
// known as the same one.
func nodeID(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("-data: %w", err)
	}
	path := filepath.Join(dir, "node-id")
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b)), nil
	}
	var b [4]byte
	rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	if err := os.WriteFile(path, []byte(id+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("-data: %w", err)
	}
	return id, nil
}
