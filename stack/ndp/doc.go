// Package ndp is IPv6 Neighbor Discovery (RFC 4861) and stateless address
// autoconfiguration (RFC 4862) for one Ethernet interface.
//
// The wire codecs follow the stack's codec shape: a view per message
// (RS, RA, NS, NA, Redirect; ParseX checks the type, code 0, the fixed
// length and the option chain), a Fields struct with Len and Encode, and
// a view per option (link-layer address, prefix information, MTU,
// redirected header, nonce, RDNSS).
//
// The Layer is the ipv6 Link: Output does next-hop determination (RFC
// 4861 §5.2) with the prefix list, the default router list and the
// redirects received, resolves the next hop through a bounded neighbor
// cache with Neighbor Unreachability Detection (§7.3), and queues a few
// packets per unresolved neighbor. It processes router advertisements
// (§6.3.4: default routers, on-link prefixes, MTU, hop limit, reachable
// and retransmission times, RDNSS per RFC 8106), configures addresses
// (the link-local one, SLAAC with RFC 7217 stable identifiers, static
// ones), runs Duplicate Address Detection on every address (RFC 4862
// §5.4, with RFC 7527's nonce), and checks every ND message as RFC 4861
// §6.1, §7.1 and §8.1 ask, dropping fragmented ones (RFC 6980).
package ndp
