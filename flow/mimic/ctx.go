package mimic

import "context"

// Ctx is an immutable set of typed values and derivations. The zero value
// is the empty context (seed 004's Mimic.empty); With and the Derive
// functions return a new Ctx and leave their argument unchanged, so a Ctx
// can be shared between goroutines and extended by each.
type Ctx struct {
	vals *valNode
	funs *funNode
}

type valNode struct {
	key  *keyID
	val  any
	next *valNode
}

// funNode is one derivation: how to compute key from other values.
type funNode struct {
	key  *keyID
	run  func(r *resolver) (any, error)
	next *funNode
}

// With returns c with k bound to v, replacing any earlier value of k
// (seed 004's Mimic.add / replace).
func With[T any](c Ctx, k Key[T], v T) Ctx {
	c.vals = &valNode{key: k.id, val: v, next: c.vals}
	return c
}

// Get returns the value bound to k in c, without derivations.
func Get[T any](c Ctx, k Key[T]) (T, bool) {
	if v, ok := c.get(k.id); ok {
		return v.(T), true
	}
	var zero T
	return zero, false
}

// Value returns the value of k: bound in c, or computed by c's
// derivations. It fails with an error matching ErrNotFound if no
// derivation applies, ErrCycle if derivations depend on each other in a
// circle, or the error of a derivation function.
func Value[T any](ctx context.Context, c Ctx, k Key[T]) (T, error) {
	return Req(k).get(newResolver(ctx, c))
}

func (c Ctx) get(k *keyID) (any, bool) {
	for n := c.vals; n != nil; n = n.next {
		if n.key == k {
			return n.val, true
		}
	}
	return nil, false
}

// Keys returns the names of the keys bound in c, newest first, each once;
// derived keys are not included.
func (c Ctx) Keys() []string {
	seen := map[*keyID]bool{}
	var names []string
	for n := c.vals; n != nil; n = n.next {
		if !seen[n.key] {
			seen[n.key] = true
			names = append(names, n.key.name)
		}
	}
	return names
}
