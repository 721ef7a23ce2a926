// Package flowtcp holds tests only: it checks that our TCP connections
// (*tcp.Conn, between two stacks on an in-memory switch or against the
// Linux kernel over a TAP) are flows, with the flow semantics suites
// (flowtest.Run, flowtest.RunProxy), TLS over TCP, protocol resolution
// (mimic) over TCP, and that net/http and crypto/tls run on our stack
// unchanged.
package flowtcp
