// Package proxyproto reads and writes the PROXY protocol header, versions
// 1 (text) and 2 (binary), by which a proxy tells the server it connects
// to who the client is (HAProxy's proxy-protocol.txt, "The PROXY
// protocol", versions 1 and 2, 2020/03/05).
//
// Parsing is strict: a header must be exactly as the specification
// writes it (v1: single spaces, canonical addresses, decimal ports
// without leading zeros, CRLF within 107 bytes; v2: the 12-byte
// signature, version 2, a known command, family and transport, an
// address block that fits the length, TLVs that exactly fill the rest,
// and a CRC32c that matches when one is sent), and no longer than the
// caller's bound. Parse works on a prefix as it arrives: it says whether
// more bytes could still make a valid header (ErrIncomplete) or not (a
// *Error), so a reader stops at the first wrong byte.
//
// Not done: the v2 address block of AF_UNIX is accepted but not
// decoded (Header.Source and Dest stay invalid, as for LOCAL), and the
// SSL sub-TLVs are left raw in Header.TLVs.
package proxyproto
