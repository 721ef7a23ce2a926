// Package dhcp is a DHCPv4 client (RFC 2131, options per RFC 2132).
//
// message.go and options.go are the wire codec: a bounded parser for the
// BOOTP header and the option TLVs (RFC 2131 §2, §4.1; RFC 2132; RFC 3396
// long options) and an encoder. client.go is the client state machine of
// RFC 2131 §4.4 (Figure 5): INIT → SELECTING → REQUESTING → BOUND →
// RENEWING (T1) → REBINDING (T2) → INIT on expiry or NAK, with the §4.1
// retransmission backoff, DHCPRELEASE on Stop and DHCPDECLINE on an
// address conflict.
//
// The client is transport-agnostic: it sends through a Transport (UDP from
// port 68 to port 67) and is fed received datagrams with Client.Input. Time
// comes from an injected clock.Clock and transaction IDs and jitter from an
// injected io.Reader, so the whole lease life cycle is testable in virtual
// time.
//
// Not supported: DHCPINFORM, the INIT-REBOOT/REBOOTING states (a restarted
// client always discovers, though it asks for its previous address), relay
// agents (giaddr is neither set nor used), collecting several offers (the
// first acceptable one is taken), the random 1–10 s delay before the first
// DISCOVER (§4.4.1; the caller may delay Start), static routes and other
// options not listed in options.go, DHCPv6 and IPv6.
package dhcp
