//go:build mirago_noipv6

package boardrun

// ipv6Built says IPv6 is not built into the image (IPV6=0, build tag
// mirago_noipv6).
const ipv6Built = false
