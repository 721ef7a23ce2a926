// Package dns is a DNS stub resolver (RFC 1035) for IPv4 and IPv6 address
// lookups (A and AAAA records, RFC 3596).
//
// It has two parts:
//
//   - a message codec (message.go, name.go): a bounded decoder hardened
//     along the lines of RFC 9267 (compression pointers may only point
//     backwards, label and name lengths are enforced, every count and
//     RDLENGTH is checked against the bytes actually present) and an
//     encoder for recursive queries;
//   - a Resolver (resolver.go) that sends queries through an injected
//     Dialer over UDP, falls back to TCP on truncation (RFC 1035 §4.2.2,
//     RFC 7766), retries across servers and caches answers for their TTL
//     (negative answers per RFC 2308 §5), per record type. LookupIP asks
//     for AAAA and A at once and puts the IPv6 addresses first (RFC 6724's
//     default policy); Resolver.Families limits it (and Resolve) to the
//     families the host can reach. Servers may be IPv4 or IPv6 addresses.
//
// The package does not use fmt (it is linked into images that resolve
// names). Happy Eyeballs (RFC 8305), which needs the two answers one by
// one, is flow/happyeyeballs; it calls LookupAAAA and LookupA itself.
//
// Not supported: record types other than A, AAAA, CNAME, NS and SOA in
// lookups (they are parsed and skipped), search domains and ndots, EDNS(0) (responses are limited to
// 512 bytes over UDP, larger ones arrive over TCP), DNSSEC, 0x20 case
// randomisation, re-querying a CNAME target that the server did not
// resolve in the same answer, and serving DNS.
package dns
