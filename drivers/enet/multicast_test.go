package enet

import (
	"hash/crc32"
	"testing"

	"github.com/mirago/mirago/stack/inet"
)

// TestGroupHash checks the hash against hash/crc32: Linux's ether_crc_le
// is the IEEE CRC-32 without its final complement.
func TestGroupHash(t *testing.T) {
	groups := []inet.MAC{
		{0x33, 0x33, 0, 0, 0, 1},             // all-nodes
		{0x33, 0x33, 0xff, 0x12, 0x34, 0x56}, // a solicited-node group
		{0x33, 0x33, 0, 0, 0, 0x16},          // all MLDv2 routers
		{0x01, 0x00, 0x5e, 0, 0, 1},          // IPv4 all-hosts
	}
	var wantHi, wantLo uint32
	for _, g := range groups {
		bit := ^crc32.ChecksumIEEE(g[:]) >> 26
		if bit >= 32 {
			wantHi |= 1 << (bit - 32)
		} else {
			wantLo |= 1 << bit
		}
		if crc32le(g[:]) != ^crc32.ChecksumIEEE(g[:]) {
			t.Fatalf("crc32le(%v)", g)
		}
	}
	d, p := newTestDevice(t)
	if err := d.SetMulticast(groups); err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.hashHi != wantHi || p.hashLo != wantLo || wantHi|wantLo == 0 {
		t.Fatalf("GAUR %#x GALR %#x, want %#x %#x", p.hashHi, p.hashLo, wantHi, wantLo)
	}
	p.mu.Unlock()
	d.SetMulticast(nil)
	p.mu.Lock()
	if p.hashHi|p.hashLo != 0 {
		t.Fatal("an empty set left bits set")
	}
}
