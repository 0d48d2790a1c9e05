// Package frame is the WebSocket frame codec of RFC 6455 section 5: frame
// headers (parse and encode), payload masking, and the incremental UTF-8
// validation that text messages need (section 8.1). It holds no state of
// its own and knows nothing of connections: every function works on the
// bytes it is given, which makes it safe for concurrent use.
package frame
