//go:build !mirago_noipv6

package boardrun

// ipv6Built says IPv6 is built into the image (the IPV6=0 images leave
// it out: build tag mirago_noipv6).
const ipv6Built = true
