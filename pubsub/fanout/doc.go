// Package fanout holds the fan-out benchmarks of package pubsub over each
// backplane (in process, NATS, JetStream); it has no API. It is a module
// of its own so that the library's module requires no NATS package.
//
//	go test -run '^$' -bench Fanout -benchtime 100x ./pubsub/fanout
package fanout
