package sntp

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"testing"
)

func TestParseServers(t *testing.T) {
	hp, lease, err := ParseServers(" 10.0.2.2, ntp.example.org:1123 ,dhcp,192.0.2.1:123,2001:db8::7,[2001:db8::8]:1123")
	want := []string{"10.0.2.2:123", "ntp.example.org:1123", "192.0.2.1:123", "[2001:db8::7]:123", "[2001:db8::8]:1123"}
	if err != nil || !lease || !slices.Equal(hp, want) {
		t.Fatalf("got %q, %v, %v", hp, lease, err)
	}
	for _, bad := range []string{"10.0.2.2:0", "10.0.2.2:70000", "host:x", "224.0.1.1", "0.0.0.0", "255.255.255.255", "::1", "ff02::101", "fe80::1%eth0", "bad_name", "-x.org", "a..b"} {
		if _, _, err := ParseServers(bad); err == nil {
			t.Errorf("ParseServers(%q) accepted", bad)
		}
	}
	if hp, lease, err := ParseServers(""); err != nil || lease || len(hp) != 0 {
		t.Errorf("empty list: %v %v %v", hp, lease, err)
	}
}

func TestServersResolvesEachPoll(t *testing.T) {
	answer := netip.MustParseAddrPort("10.9.9.9:123")
	calls := 0
	resolve := func(ctx context.Context, hp string) (netip.AddrPort, error) {
		calls++
		if hp == "gone.example:123" {
			return netip.AddrPort{}, errors.New("nxdomain")
		}
		return answer, nil
	}
	lease := func() []netip.AddrPort { return []netip.AddrPort{netip.MustParseAddrPort("10.0.0.7:123")} }
	f := Servers([]string{"10.0.2.2:123", "ntp.example:123", "gone.example:123"}, resolve, lease)
	got := f()
	want := []netip.AddrPort{netip.MustParseAddrPort("10.0.2.2:123"), answer, netip.MustParseAddrPort("10.0.0.7:123")}
	if !slices.Equal(got, want) || calls != 2 {
		t.Fatalf("got %v (%d lookups)", got, calls)
	}
	answer = netip.MustParseAddrPort("10.9.9.10:123")
	if got := f(); got[1] != answer || calls != 4 {
		t.Fatalf("second poll %v", got)
	}
	if got := Servers([]string{"ntp.example:123"}, nil, nil)(); len(got) != 0 {
		t.Fatalf("a name without a resolver gave %v", got)
	}
}
