// Package sntp is an SNTPv4 client (RFC 4330, with RFC 5905's on-wire
// rules), so that a board without a battery-backed clock knows the time
// for its logs and for certificate checks.
//
// packet.go is the wire codec in the project's one shape (docs/INTERNALS.md
// "Codecs"): the Packet view with ParsePacket, Fields, Len and Encode; NTP
// timestamps (RFC 4330 §3's era rule, which needs no local clock) and the
// 16.16 short format.
//
// client.go is the client. Each poll asks the configured servers in order
// of preference until one gives a usable sample. A request is all zero
// but for the version, mode 3 and a random 64-bit transmit timestamp: the
// server echoes it as the origin timestamp, so a reply that does not
// carry it (spoofed, stale, duplicated) is dropped and counted, as is one
// from another address or port. A reply from the server asked that
// carries the nonce ends the exchange; it is used only if it is mode 4,
// not a kiss-o'-death (stratum 0: RATE backs off and holds the server off
// for an interval, DENY and RSTR stop all requests to it, RFC 5905 §7.4),
// synchronised (leap indicator not 3, stratum below 16), with non-zero
// receive and transmit timestamps, a round trip between 0 and MaxDelay
// and a root distance within 1.5 s (RFC 5905 MAXDIST). A server that does
// not answer within Timeout (5 s, longer than ARP takes to resolve a
// cold next hop) is passed over for the next. Until the first sync a
// poll without a sample is retried after 15 s, then 30, 60, ...; after
// it the interval is MinPoll (64 s) and doubles after each poll without
// a sample and after each sample the clock kept up with (RFC 4330 §10's
// backoff), up to MaxPoll (1024 s). It is spread by ±1/8 at random and
// never below 15 s (RFC 4330 §10). Timers run on the injected clock,
// nonces and jitter come from the injected randomness, so every rule is
// tested in virtual time.
//
// The offset θ = ((T2-T1) + (T3-T4))/2 and round trip δ = (T4-T1) -
// (T3-T2) (RFC 4330 §5) go to a Target: the first sample steps it, later
// ones slew it at 500 ppm (SlewDivisor), and an offset beyond
// PanicThreshold (1000 s) after the first sync is refused and logged
// unless StepLarge is set. Clock (clock.go) is the software Target: the
// monotonic stack clock plus the disciplined offset, read with Now. On
// bare metal internal/boardrun supplies a Target that steers the runtime's
// own clock instead, so that time.Now is right.
//
// Not supported: NTP authentication (symmetric keys, NTS), broadcast and
// manycast modes, IPv6 servers (the stack has no IPv6 yet), frequency
// discipline (the clock's rate error is corrected by the slews of later
// polls, not estimated), leap second handling (the leap indicator is only
// checked for "unsynchronised"), choosing among servers by quality (the
// first usable answer in preference order is taken).
package sntp
