package wstest

import (
	"bytes"
	"fmt"
	mrand "math/rand/v2"
	"strings"
)

// The messages the compression tests and benchmarks send, in this module
// and in bench/ratio, so that their figures speak of the same bytes. All
// are deterministic.

// JSONLike returns n bytes of text shaped like a stream of JSON records.
func JSONLike(n int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, `{"id":%d,"user":"user%d","text":"message number %d in room %d","ts":%d}`, i, i%97, i, i%7, 1700000000+i*13)
	}
	return bytes.ToValidUTF8(b.Bytes()[:n], nil)
}

// JSONRecords returns n messages of size bytes cut in turn from a stream of
// 64 of them (JSONLike): consecutive messages differ, as in real traffic.
func JSONRecords(n, size int) [][]byte {
	stream := JSONLike(64 * size)
	msgs := make([][]byte, n)
	for i := range msgs {
		j := i % 64
		msgs[i] = stream[j*size : (j+1)*size]
	}
	return msgs
}

// ChatMessages returns n messages of about size bytes, each a batch of
// chat events as a chat server pushes them: varied users, rooms, words
// and ids, fixed keys.
func ChatMessages(n, size int) [][]byte {
	rng := mrand.New(mrand.NewPCG(1, 2))
	users := []string{"ann", "bob", "carla", "dmitri", "eve", "farah", "gus", "hiro", "ines", "jules", "kofi", "lena"}
	rooms := []string{"general", "random", "dev", "design", "ops", "music"}
	words := strings.Fields("the a to and of is it that in you for on this we was with have but just not what so" +
		" deploy build test server page fix bug merge review lunch today tomorrow meeting release coffee thanks" +
		" ok sure great maybe later yes no please look here there again done working broken ready")
	msgs := make([][]byte, n)
	id := 100000
	for i := range msgs {
		var b bytes.Buffer
		b.WriteString(`{"events":[`)
		for first := true; b.Len() < size-150; first = false {
			if !first {
				b.WriteByte(',')
			}
			var text []string
			for range 3 + rng.IntN(12) {
				text = append(text, words[rng.IntN(len(words))])
			}
			id += 1 + rng.IntN(3)
			fmt.Fprintf(&b, `{"type":"message","id":"m%d","room":"%s","user":{"id":%d,"nick":"%s"},"text":"%s","ts":%d}`,
				id, rooms[rng.IntN(len(rooms))], 1000+rng.IntN(len(users)), users[rng.IntN(len(users))],
				strings.Join(text, " "), 1700000000000+int64(id)*137+int64(rng.IntN(1000)))
		}
		b.WriteString(`]}`)
		msgs[i] = b.Bytes()
	}
	return msgs
}
