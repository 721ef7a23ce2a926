// Package dns is a DNS stub resolver (RFC 1035) for IPv4 address lookups.
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
//     (negative answers per RFC 2308 §5).
//
// Not supported: AAAA and other record types in lookups (they are parsed
// and skipped), search domains and ndots, EDNS(0) (responses are limited to
// 512 bytes over UDP, larger ones arrive over TCP), DNSSEC, 0x20 case
// randomisation, re-querying a CNAME target that the server did not
// resolve in the same answer, and serving DNS.
package dns
