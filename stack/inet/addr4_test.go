package inet

import "testing"

func TestAddrClasses(t *testing.T) {
	tests := []struct {
		a                             string
		reserved, multicast, loopback bool
	}{
		{"10.0.2.15", false, false, false},
		{"127.0.0.1", false, false, true},
		{"224.0.0.1", false, true, false},
		{"239.255.255.255", false, true, false},
		{"240.0.0.0", true, false, false},
		{"247.1.2.3", true, false, false},
		{"255.255.255.254", true, false, false},
		{"255.255.255.255", true, false, false},
	}
	for _, tc := range tests {
		a := MustParseAddr4(tc.a)
		if a.IsReserved() != tc.reserved || a.IsMulticast() != tc.multicast || a.IsLoopback() != tc.loopback {
			t.Errorf("%s: reserved %v multicast %v loopback %v", tc.a, a.IsReserved(), a.IsMulticast(), a.IsLoopback())
		}
	}
}
