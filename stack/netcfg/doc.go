// Package netcfg configures a running *stack.Stack from the network: it
// runs the DHCP client (stack/dhcp) over the stack's own UDP layer and
// applies its leases, and it resolves names (stack/dns) through the
// stack's UDP and TCP layers.
//
// DHCP: StartDHCP binds UDP 0.0.0.0:68 (broadcast allowed, source 0.0.0.0
// while unaddressed), feeds the socket to the client, and applies every
// lease: address and prefix (Stack.SetAddr, which announces it with
// gratuitous ARP), default router and interface MTU, and it records the
// DNS servers. An ARP conflict on the leased address
// (Stack.SetARPConflictHook) declines the lease (RFC 2131 §3.1.5); expiry,
// NAK and decline remove the address and router; Stop releases the lease
// (DHCPRELEASE) and removes them too. WaitBound blocks until the first
// lease.
//
// DNS: Dialer implements dns.Dialer over the stack (UDP from a fresh
// random ephemeral port per query, TCP for truncated answers). Resolver
// wraps dns.Resolver with a server list that may change at run time (the
// lease's DNS servers, or a static list), and offers Resolve for
// "name:port" strings.
//
// On GOOS=tamago every lease with DNS servers is also handed to package
// net (dns.SetNetServers, and net.DefaultResolver dials through the
// stack), so net.LookupHost and net/http resolve through our stack.
//
// The lease's interface MTU (option 26, RFC 2132 §5.1) becomes the stack's
// IP MTU (Stack.SetMTU) when it is between 576 (the datagram every host
// must accept, RFC 791 / RFC 1122 §3.3.3; RFC 2132's own minimum is 68)
// and the device MTU; other values are ignored with a warning. IPv4 then
// fragments to it and new TCP connections advertise MSS mtu-40. The device
// MTU is restored when a later lease has no usable MTU, when the lease
// expires, is NAKed or declined, and on Stop.
package netcfg
