package dns

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/mirago/mirago/stack/clock"
)

// seeded is a reproducible io.Reader for query IDs.
type seeded struct{ r *rand.ChaCha8 }

func (s seeded) Read(p []byte) (int, error) { return s.r.Read(p) }

func newResolver(servers ...netip.AddrPort) (*Resolver, *clock.Virtual) {
	vc := clock.NewVirtual(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	return &Resolver{
		Servers:  servers,
		Timeout:  250 * time.Millisecond,
		Attempts: 1,
		Rand:     seeded{rand.NewChaCha8([32]byte{1})},
		Clock:    vc,
	}, vc
}

// answer answers q with those of ips that are of its type (IPv4 ones for
// A, IPv6 ones for AAAA): none makes it a NODATA answer.
func answer(q *Message, ips ...string) reply {
	var r reply
	for _, ip := range ips {
		a := netip.MustParseAddr(ip)
		switch {
		case a.Is4() && q.Questions[0].Type == TypeA:
			r.answers = append(r.answers, aRR(q.Questions[0].Name, 60, ip))
		case a.Is6() && q.Questions[0].Type == TypeAAAA:
			r.answers = append(r.answers, aaaaRR(q.Questions[0].Name, 60, ip))
		}
	}
	return r
}

func wantAddrs(t *testing.T, got []netip.Addr, want ...string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("addrs = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != netip.MustParseAddr(want[i]) {
			t.Fatalf("addrs = %v, want %v", got, want)
		}
	}
}

func TestLookupSuccess(t *testing.T) {
	s := newFakeServer(t, func(q *Message, tcp bool) []reply {
		return []reply{answer(q, "10.1.2.3", "10.1.2.4")}
	})
	r, _ := newResolver(s.Addr())
	a, err := r.Lookup(context.Background(), "host.test")
	if err != nil {
		t.Fatal(err)
	}
	wantAddrs(t, a.Addrs, "10.1.2.3", "10.1.2.4")
	if a.TTL != 60*time.Second || a.Cached {
		t.Errorf("answer = %+v", a)
	}
}

func TestLookupTruncatedFallsBackToTCP(t *testing.T) {
	s := newFakeServer(t, func(q *Message, tcp bool) []reply {
		if !tcp {
			return []reply{{tc: true}}
		}
		return []reply{answer(q, "10.9.9.9")}
	})
	r, _ := newResolver(s.Addr())
	addrs, err := r.LookupA(context.Background(), "big.test")
	if err != nil {
		t.Fatal(err)
	}
	wantAddrs(t, addrs, "10.9.9.9")
	if u, c := s.udpQ.Load(), s.tcpQ.Load(); u != 1 || c != 1 {
		t.Errorf("queries: udp %d tcp %d, want 1 and 1", u, c)
	}
}

func TestLookupTimeoutThenNextServer(t *testing.T) {
	dead, queried := silentServer(t)
	s := newFakeServer(t, func(q *Message, tcp bool) []reply { return []reply{answer(q, "10.0.0.7")} })
	r, _ := newResolver(dead, s.Addr())
	addrs, err := r.LookupA(context.Background(), "retry.test")
	if err != nil {
		t.Fatal(err)
	}
	wantAddrs(t, addrs, "10.0.0.7")
	select {
	case <-queried:
	case <-time.After(10 * time.Second):
		t.Fatal("the first server was never asked")
	}
}

func TestLookupAllTimeout(t *testing.T) {
	dead, _ := silentServer(t)
	r, _ := newResolver(dead)
	r.Attempts = 2
	_, err := r.LookupA(context.Background(), "gone.test")
	var le *LookupError
	if !errors.Is(err, ErrTimeout) || !errors.As(err, &le) || !le.Timeout() || le.Server != dead {
		t.Fatalf("err = %v, want a timeout from %v", err, dead)
	}
}

func TestLookupIgnoresForgedResponses(t *testing.T) {
	s := newFakeServer(t, func(q *Message, tcp bool) []reply {
		good := answer(q, "10.0.0.1")
		wrongID := answer(q, "6.6.6.6")
		wrongID.idDelta = 1
		noQR := answer(q, "6.6.6.7")
		noQR.noQR = true
		otherQ := answer(q, "6.6.6.8")
		otherQ.question = "evil.test"
		return []reply{wrongID, noQR, otherQ, good}
	})
	r, _ := newResolver(s.Addr())
	addrs, err := r.LookupA(context.Background(), "victim.test")
	if err != nil {
		t.Fatal(err)
	}
	wantAddrs(t, addrs, "10.0.0.1")
}

func TestLookupRCodes(t *testing.T) {
	tests := []struct {
		rcode uint8
		want  error
	}{
		{RCodeNXDomain, ErrNXDomain},
		{RCodeServFail, ErrServFail},
		{RCodeRefused, ErrRefused},
		{RCodeSuccess, ErrNoData},
	}
	for _, tt := range tests {
		s := newFakeServer(t, func(q *Message, tcp bool) []reply { return []reply{{rcode: tt.rcode}} })
		r, _ := newResolver(s.Addr())
		_, err := r.LookupA(context.Background(), "x.test")
		if !errors.Is(err, tt.want) {
			t.Errorf("rcode %d: err = %v, want %v", tt.rcode, err, tt.want)
		}
		for _, other := range []error{ErrNXDomain, ErrServFail, ErrRefused, ErrNoData, ErrTimeout} {
			if other != tt.want && errors.Is(err, other) {
				t.Errorf("rcode %d: err = %v also matches %v", tt.rcode, err, other)
			}
		}
	}
}

func TestLookupServFailTriesNextServer(t *testing.T) {
	bad := newFakeServer(t, func(q *Message, tcp bool) []reply { return []reply{{rcode: RCodeServFail}} })
	good := newFakeServer(t, func(q *Message, tcp bool) []reply { return []reply{answer(q, "10.0.0.2")} })
	r, _ := newResolver(bad.Addr(), good.Addr())
	addrs, err := r.LookupA(context.Background(), "x.test")
	if err != nil {
		t.Fatal(err)
	}
	wantAddrs(t, addrs, "10.0.0.2")
}

func TestLookupFollowsCNAME(t *testing.T) {
	s := newFakeServer(t, func(q *Message, tcp bool) []reply {
		return []reply{{answers: []rr{
			{name: "www.test", typ: TypeCNAME, ttl: 300, target: "web.test"},
			{name: "web.test", typ: TypeCNAME, ttl: 30, target: "cdn.test"},
			aRR("cdn.test", 120, "10.3.3.3"),
			aRR("unrelated.test", 120, "6.6.6.6"),
		}}}
	})
	r, _ := newResolver(s.Addr())
	a, err := r.Lookup(context.Background(), "www.test")
	if err != nil {
		t.Fatal(err)
	}
	wantAddrs(t, a.Addrs, "10.3.3.3")
	if a.CNAME != "cdn.test" || a.TTL != 30*time.Second {
		t.Errorf("answer = %+v, want CNAME cdn.test TTL 30s", a)
	}
}

func TestLookupCNAMELoopBounded(t *testing.T) {
	s := newFakeServer(t, func(q *Message, tcp bool) []reply {
		return []reply{{answers: []rr{
			{name: "a.test", typ: TypeCNAME, ttl: 300, target: "b.test"},
			{name: "b.test", typ: TypeCNAME, ttl: 300, target: "a.test"},
		}}}
	})
	r, _ := newResolver(s.Addr())
	if _, err := r.LookupA(context.Background(), "a.test"); !errors.Is(err, ErrBadResponse) {
		t.Fatalf("err = %v, want ErrBadResponse", err)
	}
}

func TestCacheTTLInVirtualTime(t *testing.T) {
	s := newFakeServer(t, func(q *Message, tcp bool) []reply { return []reply{answer(q, "10.4.4.4")} })
	r, vc := newResolver(s.Addr())
	ctx := context.Background()
	if _, err := r.LookupA(ctx, "cached.test"); err != nil {
		t.Fatal(err)
	}
	vc.Advance(59 * time.Second)
	a, err := r.Lookup(ctx, "CACHED.test.")
	if err != nil {
		t.Fatal(err)
	}
	wantAddrs(t, a.Addrs, "10.4.4.4")
	if !a.Cached || a.TTL != time.Second || s.udpQ.Load() != 1 {
		t.Fatalf("within TTL: %+v after %d queries; want a cached answer with 1s left", a, s.udpQ.Load())
	}
	vc.Advance(time.Second)
	if a, err = r.Lookup(ctx, "cached.test"); err != nil || a.Cached || s.udpQ.Load() != 2 {
		t.Fatalf("after TTL: %+v, %v, %d queries; want a fresh query", a, err, s.udpQ.Load())
	}
}

func TestNegativeCache(t *testing.T) {
	s := newFakeServer(t, func(q *Message, tcp bool) []reply {
		// RFC 2308 §5: the negative TTL is min(SOA TTL, SOA MINIMUM) = 30s.
		return []reply{{rcode: RCodeNXDomain, auth: []rr{soaRR("test", 3600, 30)}}}
	})
	r, vc := newResolver(s.Addr())
	ctx := context.Background()
	for i := range 2 {
		if _, err := r.LookupA(ctx, "nx.test"); !errors.Is(err, ErrNXDomain) {
			t.Fatalf("lookup %d: err = %v", i, err)
		}
	}
	if n := s.udpQ.Load(); n != 1 {
		t.Fatalf("%d queries, want 1 (second answered from the cache)", n)
	}
	vc.Advance(30 * time.Second)
	if _, err := r.LookupA(ctx, "nx.test"); !errors.Is(err, ErrNXDomain) || s.udpQ.Load() != 2 {
		t.Fatalf("after negative TTL: %v, %d queries", err, s.udpQ.Load())
	}
}

func TestCacheBounded(t *testing.T) {
	s := newFakeServer(t, func(q *Message, tcp bool) []reply { return []reply{answer(q, "10.5.5.5")} })
	r, _ := newResolver(s.Addr())
	r.CacheSize = 2
	for _, n := range []string{"a.test", "b.test", "c.test"} {
		if _, err := r.LookupA(context.Background(), n); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(r.cache.entries); n != 2 {
		t.Fatalf("cache holds %d entries, want 2", n)
	}
}

func TestResolve(t *testing.T) {
	s := newFakeServer(t, func(q *Message, tcp bool) []reply { return []reply{answer(q, "10.6.6.6")} })
	r, _ := newResolver(s.Addr())
	ctx := context.Background()
	tests := []struct{ in, want string }{
		{"192.0.2.1:80", "192.0.2.1:80"},
		{"[2001:db8::1]:443", "[2001:db8::1]:443"},
		{"svc.test:8080", "10.6.6.6:8080"},
	}
	for _, tt := range tests {
		got, err := r.Resolve(ctx, tt.in)
		if err != nil || got != netip.MustParseAddrPort(tt.want) {
			t.Errorf("Resolve(%q) = %v, %v; want %s", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"svc.test", "svc.test:http", "svc.test:70000"} {
		if got, err := r.Resolve(ctx, bad); err == nil {
			t.Errorf("Resolve(%q) = %v, want an error", bad, got)
		}
	}
	if n := s.udpQ.Load(); n != 2 {
		t.Errorf("%d queries, want 2: A and AAAA for the name (literals need none)", n)
	}
}

func TestLookupAAAA(t *testing.T) {
	s := newFakeServer(t, func(q *Message, tcp bool) []reply {
		switch q.Questions[0].Name {
		case "dual.test":
			return []reply{answer(q, "10.7.7.7", "2001:db8::7", "2001:db8::8")}
		case "v4only.test":
			return []reply{answer(q, "10.4.4.4")}
		case "v6only.test":
			return []reply{answer(q, "2001:db8::6")}
		case "none.test":
			return []reply{{auth: []rr{soaRR("test", 60, 30)}}}
		}
		return []reply{{rcode: RCodeNXDomain, auth: []rr{soaRR("test", 60, 30)}}}
	})
	r, _ := newResolver(s.Addr())
	ctx := context.Background()
	a6, err := r.LookupAAAA(ctx, "dual.test")
	if err != nil {
		t.Fatal(err)
	}
	wantAddrs(t, a6, "2001:db8::7", "2001:db8::8")
	a4, err := r.LookupA(ctx, "dual.test")
	if err != nil {
		t.Fatal(err)
	}
	wantAddrs(t, a4, "10.7.7.7")
	// Each type has its own cache entry.
	if a, err := r.LookupType(ctx, "dual.test", TypeAAAA); err != nil || !a.Cached || len(a.Addrs) != 2 {
		t.Fatalf("cached AAAA = %+v, %v", a, err)
	}
	if n := s.udpQ.Load(); n != 2 {
		t.Fatalf("%d queries, want 2", n)
	}
	for _, c := range []struct {
		name string
		fam  Family
		want []string
	}{
		{"dual.test", 0, []string{"2001:db8::7", "2001:db8::8", "10.7.7.7"}},
		{"dual.test", IPv4, []string{"10.7.7.7"}},
		{"dual.test", IPv6, []string{"2001:db8::7", "2001:db8::8"}},
		{"v4only.test", 0, []string{"10.4.4.4"}},
		{"v6only.test", BothFamilies, []string{"2001:db8::6"}},
		{"2001:db8::99", 0, []string{"2001:db8::99"}},
		{"192.0.2.9", IPv6, nil},
	} {
		got, err := r.LookupIP(ctx, c.name, c.fam)
		if c.want == nil {
			if !errors.Is(err, ErrNoData) {
				t.Errorf("LookupIP(%s, %d) = %v, %v; want ErrNoData", c.name, c.fam, got, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("LookupIP(%s, %d): %v", c.name, c.fam, err)
		}
		wantAddrs(t, got, c.want...)
	}
	if _, err := r.LookupIP(ctx, "none.test", 0); !errors.Is(err, ErrNoData) {
		t.Errorf("no records of either type: %v, want ErrNoData", err)
	}
	if _, err := r.LookupIP(ctx, "gone.test", 0); !errors.Is(err, ErrNXDomain) {
		t.Errorf("no such name: %v, want ErrNXDomain", err)
	}
	if _, err := r.LookupType(ctx, "dual.test", TypeCNAME); !errors.Is(err, ErrBadType) {
		t.Errorf("CNAME lookup: %v, want ErrBadType", err)
	}

	// Resolve takes the first address of the families the host can reach.
	if ap, err := r.Resolve(ctx, "dual.test:80"); err != nil || ap != netip.MustParseAddrPort("[2001:db8::7]:80") {
		t.Errorf("Resolve with both families = %v, %v", ap, err)
	}
	r.Families = func() Family { return IPv4 }
	if ap, err := r.Resolve(ctx, "dual.test:80"); err != nil || ap != netip.MustParseAddrPort("10.7.7.7:80") {
		t.Errorf("Resolve with IPv4 only = %v, %v", ap, err)
	}
	if _, err := r.Resolve(ctx, "v6only.test:80"); !errors.Is(err, ErrNoData) {
		t.Errorf("Resolve of an IPv6-only name without IPv6: %v, want ErrNoData", err)
	}
}

// TestLookupAAAAMismatch: an answer to the A question does not answer
// the AAAA one (RFC 5452 §4: the question must match).
func TestLookupAAAAMismatch(t *testing.T) {
	s := newFakeServer(t, func(q *Message, tcp bool) []reply {
		wrong := *q
		wrong.Questions = []Question{{q.Questions[0].Name, TypeA, ClassINET}}
		r := answer(&wrong, "10.1.1.1")
		r.qtype = TypeA
		return []reply{r}
	})
	r, _ := newResolver(s.Addr())
	if _, err := r.LookupAAAA(context.Background(), "x.test"); !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout (the mismatched answer ignored)", err)
	}
}

func TestLookupContextCancelled(t *testing.T) {
	dead, _ := silentServer(t)
	r, _ := newResolver(dead)
	r.Timeout = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.LookupA(ctx, "x.test"); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestLookupNoServers(t *testing.T) {
	var r Resolver
	if _, err := r.LookupA(context.Background(), "x.test"); !errors.Is(err, ErrNoServers) {
		t.Fatalf("err = %v", err)
	}
}
