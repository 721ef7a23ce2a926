// Package inet is the vocabulary every layer of the stack shares: link
// and network addresses (MAC, Addr4, Prefix4, and the family-neutral Addr
// that the transports key their tables with), EtherTypes and IP protocol
// numbers. It is a leaf: it imports only the standard library, so no layer
// imports another for a type, and IPv6 adds its address and prefix types
// here beside IPv4's. Model: gVisor's root tcpip package, MirageOS's
// Ipaddr.
package inet
