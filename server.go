package wss

import "net/http"

// NewServer returns an http.Server that serves h on addr with the handshake
// limits of cfg (nil means the defaults): ReadHeaderTimeout and IdleTimeout
// are cfg's HandshakeTimeout, so a client that sends part of a request and
// stops (slowloris) is dropped after it, and so is a TLS handshake that
// stalls; MaxHeaderBytes is cfg's MaxHeaderBytes. Start it with
// ListenAndServe, ListenAndServeTLS or Serve. An http.Server without these
// settings waits for a request's header forever.
//
// When h is an HTTPHandler, the server also admits each connection to the
// handler's Dispatcher when it accepts it, before reading its request
// (through ConnContext and ConnState, which must be kept): with
// MaxConnections, sockets still in their handshake count toward it, and
// one accepted beyond it is answered 503 with Retry-After at once and
// closed (a TLS one is closed without an answer). Behind another handler
// (a ServeMux), connections count from their request, and only
// HandshakeTimeout bounds the sockets still sending one.
func NewServer(addr string, h http.Handler, cfg *Config) *http.Server {
	cfg = cfg.orDefault()
	srv := &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: cfg.handshakeTimeout(),
		IdleTimeout:       cfg.handshakeTimeout(),
		MaxHeaderBytes:    cfg.maxHeaderBytes(),
	}
	if u, ok := h.(*upgradeHandler); ok {
		u.dispatcher().admitOnAccept(srv)
		srv.ErrorLog = u.dispatcher().obs.errorLog()
	}
	return srv
}
