package wss

import "net/http"

// NewServer returns an http.Server that serves h on addr with the handshake
// limits of cfg (nil means the defaults): ReadHeaderTimeout and IdleTimeout
// are cfg's HandshakeTimeout, so a client that sends part of a request and
// stops (slowloris) is dropped after it, and so is a TLS handshake that
// stalls; MaxHeaderBytes is cfg's MaxHeaderBytes. Start it with
// ListenAndServe, ListenAndServeTLS or Serve. An http.Server without these
// settings waits for a request's header forever.
func NewServer(addr string, h http.Handler, cfg *Config) *http.Server {
	cfg = cfg.orDefault()
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: cfg.handshakeTimeout(),
		IdleTimeout:       cfg.handshakeTimeout(),
		MaxHeaderBytes:    cfg.maxHeaderBytes(),
	}
}
