package mimic

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/mirago/mirago/flow"
)

// Protocol is a registered way to make a flow from an endpoint (seed
// 004's ('edn, 'flow) protocol).
type Protocol struct {
	name     string
	priority int
	seq      int
	edn      *keyID
	connect  func(r *resolver) (flow.Flow, error)
}

// Name returns the name given to Register.
func (p *Protocol) Name() string { return p.name }

// Priority returns the priority given to Register; lower wins.
func (p *Protocol) Priority() int { return p.priority }

// Registry holds protocols. The zero value is an empty registry ready to
// use; it is safe for concurrent use.
type Registry struct {
	mu     sync.Mutex
	protos []*Protocol
}

// Default is the process-wide registry (seed 004's "internal global
// Mimic's state"), used by the package-level Resolve.
var Default = new(Registry)

// Register adds a protocol to reg (seed 004's Mimic.register) and returns
// the key of its endpoint: a Ctx in which that key has a value, bound or
// derived, can be resolved to this protocol, by calling connect with the
// value. Among applicable protocols Resolve tries the lowest priority
// first (seed 004: "Mimic will choose the lower-priority solution"), and
// among equal priorities the one registered first.
func Register[E any](reg *Registry, name string, priority int, connect func(ctx context.Context, edn E) (flow.Flow, error)) (Key[E], *Protocol) {
	k := NewKey[E](name)
	p := &Protocol{name: name, priority: priority, edn: k.id}
	p.connect = func(r *resolver) (flow.Flow, error) {
		v, err := r.value(k.id)
		if err != nil {
			return nil, err
		}
		return connect(r.ctx, v.(E))
	}
	reg.mu.Lock()
	p.seq = len(reg.protos)
	reg.protos = append(reg.protos, p)
	reg.mu.Unlock()
	return k, p
}

// byPriority returns the protocols in the order Resolve tries them.
func (reg *Registry) byPriority() []*Protocol {
	reg.mu.Lock()
	ps := slices.Clone(reg.protos)
	reg.mu.Unlock()
	slices.SortFunc(ps, func(a, b *Protocol) int {
		if a.priority != b.priority {
			return a.priority - b.priority
		}
		return a.seq - b.seq
	})
	return ps
}

// ConnectError is the failure of a protocol's connect function.
type ConnectError struct {
	// Protocol is the protocol's name.
	Protocol string
	// Err is what connect returned.
	Err error
}

// Error implements error.
func (e *ConnectError) Error() string {
	return fmt.Sprintf("mimic: connecting with %s: %v", e.Protocol, e.Err)
}

// Unwrap returns Err.
func (e *ConnectError) Unwrap() error { return e.Err }

// Applicable returns the protocols whose endpoint c has or can derive, in
// the order Resolve would try them, without connecting (seed 004's
// unfold, for introspection). Derivation failures other than missing
// values are returned, joined, alongside.
func (reg *Registry) Applicable(ctx context.Context, c Ctx) ([]*Protocol, error) {
	r := newResolver(ctx, c)
	var ok []*Protocol
	var errs []error
	for _, p := range reg.byPriority() {
		_, err := r.value(p.edn)
		switch {
		case err == nil:
			ok = append(ok, p)
		case !errors.Is(err, ErrNotFound):
			errs = append(errs, err)
		}
	}
	return ok, errors.Join(errs...)
}

// Resolve makes a flow from c (seed 004's Mimic.resolve). It goes through
// the protocols lowest priority first, skips those whose endpoint c
// neither has nor can derive, and connects with the first that applies.
// If connecting fails it tries the next applicable protocol, as mimic's
// connect does; the flow of the first success is returned.
//
// Errors: if no protocol applies, an error matching ErrNotFound, joined
// with any derivation failures (so it also matches ErrCycle if a cycle
// was found); if every applicable protocol failed to connect, their
// *ConnectErrors joined, in the order tried (errors.As finds the first);
// ctx.Err() if ctx ends.
func (reg *Registry) Resolve(ctx context.Context, c Ctx) (flow.Flow, error) {
	r := newResolver(ctx, c)
	var derrs, cerrs []error
	for _, p := range reg.byPriority() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if _, err := r.value(p.edn); err != nil {
			if !errors.Is(err, ErrNotFound) {
				derrs = append(derrs, err)
			}
			continue
		}
		f, err := p.connect(r)
		if err == nil {
			return f, nil
		}
		cerrs = append(cerrs, &ConnectError{Protocol: p.name, Err: err})
	}
	if len(cerrs) > 0 {
		return nil, errors.Join(cerrs...)
	}
	notFound := fmt.Errorf("%w: no protocol applies to the context", ErrNotFound)
	return nil, errors.Join(append([]error{notFound}, derrs...)...)
}

// Resolve is Default.Resolve.
func Resolve(ctx context.Context, c Ctx) (flow.Flow, error) {
	return Default.Resolve(ctx, c)
}
