// Package tcp is mirago's TCP (RFC 9293) over IPv4.
//
// Everything protocol-side runs with the stack lock held (see
// docs/INTERNALS.md): Deliver, ControlError and timer callbacks. The user
// API (Listener, Conn, Dial) takes the lock itself and waits on channels
// with the lock released.
//
// Implemented: the full RFC 9293 state machine (active, passive and
// simultaneous open, simultaneous close, half-close, TIME_WAIT), the
// segment acceptability test (§3.10.7.4), RST generation and validation;
// options MSS, window scale and timestamps with PAWS (RFC 7323), SACK
// (RFC 2018) both ways with RFC 6675 loss recovery; RTO per RFC 6298;
// NewReno (RFC 6582) and CUBIC (RFC 9438, default); delayed ACK with quick
// ACKs at start; Nagle; zero-window probing; keepalive (RFC 1122
// §4.2.3.6); user timeout (RFC 5482 semantics); RFC 5961 challenge ACKs;
// RFC 6528 ISNs; RFC 6056 ephemeral ports (algorithm 3); SYN cookies
// (RFC 4987) when the half-open table or the accept queue is full.
//
// Data is copied once per direction at the API boundary: Write copies into
// a ring that segments reference (pkt.Buf.Attach); received payload is
// copied into a ring that Read copies out of. Rings are taken from a pool
// when data is pending and given back when they drain, so an idle
// connection holds no buffer memory.
//
// Not implemented: urgent data as out-of-band (URG is ignored and the data
// stays inline, RFC 6093), ECN, D-SACK, TCP-AO/MD5, IPv6, receive buffer
// auto-tuning beyond the configured bounds.
package tcp
