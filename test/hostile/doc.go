// Package hostile holds mirago's hardening tests: a victim stack fed raw,
// hand-built frames through a fake device, checked against the RFCs and
// against the bug classes of AMNESIA:33, Ripple20, NAME:WRECK, INFRA:HALT
// and NUMBER:JACK. See docs/HARDENING.md for the list of cases and their
// results.
//
// Short cases run with plain `go test`; long ones (TestTorture*) run only
// when MIRAGO_TORTURE=1 (`make torture`).
package hostile
