package mimic

import (
	"context"
	"errors"
	"fmt"
)

// ErrNotFound means no value, or no protocol, could be found for a
// context (seed 004's `Not_found).
var ErrNotFound = errors.New("mimic: not found")

// ErrCycle means derivations depend on each other in a circle (seed 004's
// `Cycle).
var ErrCycle = errors.New("mimic: cycle among derivations")

// Arg is an argument of a derivation: how to get a value of type T from
// the context (seed 004's Fun.arg).
type Arg[T any] struct {
	get func(r *resolver) (T, error)
}

// Option is the value of an optional argument: Value is valid if OK.
type Option[T any] struct {
	Value T
	OK    bool
}

// Req is a required argument (seed 004's Fun.req): if k has no value,
// the derivation does not apply.
func Req[T any](k Key[T]) Arg[T] {
	return Arg[T]{get: func(r *resolver) (T, error) {
		v, err := r.value(k.id)
		if err != nil {
			var zero T
			return zero, err
		}
		return v.(T), nil
	}}
}

// Opt is an optional argument (seed 004's Fun.opt): if k has no value,
// the derivation gets Option{OK: false}. Other failures, a cycle for one,
// still fail the derivation.
func Opt[T any](k Key[T]) Arg[Option[T]] {
	return Arg[Option[T]]{get: func(r *resolver) (Option[T], error) {
		v, err := r.value(k.id)
		switch {
		case errors.Is(err, ErrNotFound):
			return Option[T]{}, nil
		case err != nil:
			return Option[T]{}, err
		}
		return Option[T]{Value: v.(T), OK: true}, nil
	}}
}

// Dft is an argument with a default (seed 004's Fun.dft): if k has no
// value, the derivation gets dft.
func Dft[T any](k Key[T], dft T) Arg[T] {
	return Arg[T]{get: func(r *resolver) (T, error) {
		v, err := r.value(k.id)
		switch {
		case errors.Is(err, ErrNotFound):
			return dft, nil
		case err != nil:
			return dft, err
		}
		return v.(T), nil
	}}
}

// Derive1 returns c with a derivation of k from one argument (seed 004's
// Mimic.fold). Several derivations of one key may coexist: the newest
// that applies wins, and a value bound with With beats them all. f runs
// only when k is needed, at most once per resolution; its error makes the
// value unavailable and is reported if nothing else applies.
func Derive1[A, R any](c Ctx, k Key[R], a Arg[A], f func(ctx context.Context, a A) (R, error)) Ctx {
	return addFun(c, k.id, func(r *resolver) (any, error) {
		va, err := a.get(r)
		if err != nil {
			return nil, err
		}
		return callFun(k.id, func() (R, error) { return f(r.ctx, va) })
	})
}

// Derive2 is Derive1 with two arguments.
func Derive2[A, B, R any](c Ctx, k Key[R], a Arg[A], b Arg[B], f func(ctx context.Context, a A, b B) (R, error)) Ctx {
	return addFun(c, k.id, func(r *resolver) (any, error) {
		va, err := a.get(r)
		if err != nil {
			return nil, err
		}
		vb, err := b.get(r)
		if err != nil {
			return nil, err
		}
		return callFun(k.id, func() (R, error) { return f(r.ctx, va, vb) })
	})
}

// Derive3 is Derive1 with three arguments.
func Derive3[A, B, C, R any](c Ctx, k Key[R], a Arg[A], b Arg[B], cc Arg[C], f func(ctx context.Context, a A, b B, c C) (R, error)) Ctx {
	return addFun(c, k.id, func(r *resolver) (any, error) {
		va, err := a.get(r)
		if err != nil {
			return nil, err
		}
		vb, err := b.get(r)
		if err != nil {
			return nil, err
		}
		vc, err := cc.get(r)
		if err != nil {
			return nil, err
		}
		return callFun(k.id, func() (R, error) { return f(r.ctx, va, vb, vc) })
	})
}

func addFun(c Ctx, k *keyID, run func(r *resolver) (any, error)) Ctx {
	c.funs = &funNode{key: k, run: run, next: c.funs}
	return c
}

// DeriveError is the failure of a derivation function.
type DeriveError struct {
	// Key is the name of the key being derived.
	Key string
	// Err is what the function returned.
	Err error
}

// Error implements error.
func (e *DeriveError) Error() string { return fmt.Sprintf("mimic: deriving %s: %v", e.Key, e.Err) }

// Unwrap returns Err.
func (e *DeriveError) Unwrap() error { return e.Err }

func callFun[R any](k *keyID, f func() (R, error)) (any, error) {
	v, err := f()
	if err != nil {
		return nil, &DeriveError{Key: k.name, Err: err}
	}
	return v, nil
}
