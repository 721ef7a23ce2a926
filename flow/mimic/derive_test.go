package mimic_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/mirago/mirago/flow/mimic"
)

var (
	host = mimic.NewKey[string]("host")
	port = mimic.NewKey[int]("port")
	addr = mimic.NewKey[string]("addr")
)

func TestWithGetImmutable(t *testing.T) {
	var empty mimic.Ctx
	c1 := mimic.With(empty, port, 80)
	c2 := mimic.With(c1, port, 443)
	if _, ok := mimic.Get(empty, port); ok {
		t.Fatal("empty context has a port")
	}
	if v, _ := mimic.Get(c1, port); v != 80 {
		t.Fatalf("c1 port = %d, want 80 (With must not modify its argument)", v)
	}
	if v, _ := mimic.Get(c2, port); v != 443 {
		t.Fatalf("c2 port = %d, want 443", v)
	}
	if got := fmt.Sprint(c2.Keys()); got != "[port]" {
		t.Fatalf("Keys = %s, want [port]", got)
	}
	// Keys with the same name are still different keys.
	other := mimic.NewKey[int]("port")
	if _, ok := mimic.Get(c2, other); ok {
		t.Fatal("a different key with the same name found a value")
	}
}

func joinAddr(_ context.Context, h string, p int) (string, error) {
	return fmt.Sprintf("%s:%d", h, p), nil
}

func TestDeriveReqOptDft(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		c    mimic.Ctx
		want string
		err  error
	}{
		{"req missing", mimic.Derive2(mimic.With(mimic.Ctx{}, port, 1), addr, mimic.Req(host), mimic.Req(port), joinAddr), "", mimic.ErrNotFound},
		{"req present", mimic.Derive2(mimic.With(mimic.With(mimic.Ctx{}, port, 1), host, "h"), addr, mimic.Req(host), mimic.Req(port), joinAddr), "h:1", nil},
		{"dft used", mimic.Derive2(mimic.With(mimic.Ctx{}, host, "h"), addr, mimic.Req(host), mimic.Dft(port, 7), joinAddr), "h:7", nil},
		{"dft overridden", mimic.Derive2(mimic.With(mimic.With(mimic.Ctx{}, host, "h"), port, 8), addr, mimic.Req(host), mimic.Dft(port, 7), joinAddr), "h:8", nil},
		{"bound beats derived", mimic.Derive2(mimic.With(mimic.With(mimic.Ctx{}, host, "h"), addr, "fixed"), addr, mimic.Req(host), mimic.Dft(port, 7), joinAddr), "fixed", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := mimic.Value(ctx, tc.c, addr)
			if !errors.Is(err, tc.err) || got != tc.want {
				t.Fatalf("Value = %q, %v; want %q, %v", got, err, tc.want, tc.err)
			}
		})
	}

	opt := func(_ context.Context, h string, p mimic.Option[int]) (string, error) {
		if !p.OK {
			return h + ":none", nil
		}
		return fmt.Sprintf("%s:%d", h, p.Value), nil
	}
	c := mimic.Derive2(mimic.With(mimic.Ctx{}, host, "h"), addr, mimic.Req(host), mimic.Opt(port), opt)
	if got, err := mimic.Value(ctx, c, addr); err != nil || got != "h:none" {
		t.Fatalf("optional absent: %q, %v", got, err)
	}
	if got, err := mimic.Value(ctx, mimic.With(c, port, 9), addr); err != nil || got != "h:9" {
		t.Fatalf("optional present: %q, %v", got, err)
	}
}

func TestDeriveChainAndMemo(t *testing.T) {
	calls := 0
	c := mimic.With(mimic.Ctx{}, host, "example")
	c = mimic.Derive1(c, port, mimic.Req(host), func(_ context.Context, h string) (int, error) {
		calls++
		return len(h), nil
	})
	c = mimic.Derive2(c, addr, mimic.Req(host), mimic.Req(port), joinAddr)
	both := mimic.NewKey[string]("both")
	c = mimic.Derive2(c, both, mimic.Req(addr), mimic.Req(port), func(_ context.Context, a string, p int) (string, error) {
		return fmt.Sprint(a, "/", p), nil
	})
	got, err := mimic.Value(context.Background(), c, both)
	if err != nil || got != "example:7/7" {
		t.Fatalf("Value = %q, %v", got, err)
	}
	if calls != 1 {
		t.Fatalf("port derived %d times in one resolution, want 1", calls)
	}
}

func TestDeriveCycle(t *testing.T) {
	a := mimic.NewKey[int]("a")
	b := mimic.NewKey[int]("b")
	inc := func(_ context.Context, v int) (int, error) { return v + 1, nil }
	c := mimic.Derive1(mimic.Ctx{}, a, mimic.Req(b), inc)
	c = mimic.Derive1(c, b, mimic.Req(a), inc)
	if _, err := mimic.Value(context.Background(), c, a); !errors.Is(err, mimic.ErrCycle) {
		t.Fatalf("Value in a cycle: %v, want ErrCycle", err)
	}
	// Binding one key breaks the cycle.
	if v, err := mimic.Value(context.Background(), mimic.With(c, b, 1), a); err != nil || v != 2 {
		t.Fatalf("Value with b bound = %d, %v; want 2", v, err)
	}
	// A second derivation of b that does not need a also breaks it, even
	// though the first one fails with a cycle.
	c2 := mimic.Derive1(c, b, mimic.Req(port), inc)
	c2 = mimic.With(c2, port, 10)
	if v, err := mimic.Value(context.Background(), c2, a); err != nil || v != 12 {
		t.Fatalf("Value with another way to b = %d, %v; want 12", v, err)
	}
}

func TestDeriveError(t *testing.T) {
	boom := errors.New("boom")
	c := mimic.Derive1(mimic.With(mimic.Ctx{}, host, "h"), port, mimic.Req(host), func(context.Context, string) (int, error) {
		return 0, boom
	})
	_, err := mimic.Value(context.Background(), c, port)
	var de *mimic.DeriveError
	if !errors.Is(err, boom) || !errors.As(err, &de) || de.Key != "port" {
		t.Fatalf("Value = %v, want a DeriveError for port wrapping boom", err)
	}
}
