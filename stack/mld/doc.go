// Package mld is the host side of Multicast Listener Discovery version 2
// (RFC 3810) for one interface: it reports the IPv6 multicast groups the
// stack has joined (the solicited-node groups of its addresses above
// all) so that MLD-snooping switches and multicast routers forward them
// to us.
//
// The wire codecs follow the stack's codec shape: Query (MLDv1 and
// MLDv2), Report (MLDv2, with its Records) and V1 (MLDv1 report and
// done), each with ParseX, Fields, Len and Encode.
package mld
