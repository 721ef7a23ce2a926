// Package flow defines mirago's flows and the tools that work on them.
//
// A flow is a reliable, ordered, full-duplex byte stream to one endpoint
// (seed 003, Mirage_flow.S). In Go a flow is a net.Conn that can also be
// half-closed, like *net.TCPConn, plus a gather write (seed 003's writev).
// Everything that takes a net.Conn (io.Copy, bufio, crypto/tls, net/http)
// works on a Flow unchanged.
//
// The package provides:
//
//   - the Flow interface and its error values (flow.go);
//   - in-memory flows: Pipe (a buffered, half-closable pair), function-based
//     flows (seed 003's F), and an in-memory Listener (pipe.go, funcs.go,
//     listener.go);
//   - Forward and Proxy, which copy between flows and propagate half-close
//     (seed 003's forward and Proxy) (forward.go, proxy.go).
//
// TLS layered over a flow, itself a Flow, lives in flow/tlsflow, so that
// importing flow does not link crypto/tls. Protocol resolution (seed 004's
// Mimic) lives in flow/mimic, and the semantics test suite every Flow
// implementation must pass in flow/flowtest.
package flow
