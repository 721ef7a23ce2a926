// Package happyeyeballs connects to a host by name over IPv6 and IPv4 as
// RFC 8305 (Happy Eyeballs Version 2) describes, so that a broken IPv6
// path costs a user a quarter of a second rather than a connect timeout.
//
//   - Resolution (§3): the AAAA and A queries go out at once, AAAA first.
//     Connecting starts as soon as the AAAA answer is in; if the A answer
//     comes first, it waits for the AAAA one for the Resolution Delay
//     (50 ms) and then starts with the IPv4 addresses, taking the IPv6
//     ones into the list when they come.
//   - Sorting (§4): the addresses are interleaved by family, IPv6 first
//     (First Address Family Count 1), each family in the order its answer
//     gave (the stub resolver keeps the server's order; RFC 6724's
//     destination rules beyond the family preference are not applied).
//   - Connection attempts (§5): one at a time, the next one started a
//     Connection Attempt Delay (250 ms) after the last, or at once when
//     the last one fails; earlier attempts go on. The first to connect
//     wins; the others are cancelled, and any that connects later anyway
//     is closed.
//
// The algorithm is a state machine (machine.go) that is told what
// happened and at what time and answers what to start and when to look
// again; it has no goroutine or timer of its own and is tested in
// virtual time. Dial (dial.go) runs it with the queries and attempts in
// goroutines and a timer from the injected clock.
package happyeyeballs
