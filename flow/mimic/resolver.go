package mimic

import (
	"context"
	"errors"
	"fmt"
)

// resolver computes values for one resolution: it memoises what it
// derived and tracks the keys being derived to detect cycles.
type resolver struct {
	ctx  context.Context
	c    Ctx
	memo map[*keyID]any
	busy map[*keyID]bool
}

func newResolver(ctx context.Context, c Ctx) *resolver {
	return &resolver{ctx: ctx, c: c, memo: map[*keyID]any{}, busy: map[*keyID]bool{}}
}

// value returns the value of k, bound or derived. Failures are not
// memoised: one found inside a cycle may not hold outside it.
func (r *resolver) value(k *keyID) (any, error) {
	if k == nil {
		return nil, fmt.Errorf("%w: zero Key", ErrNotFound)
	}
	if v, ok := r.c.get(k); ok {
		return v, nil
	}
	if v, ok := r.memo[k]; ok {
		return v, nil
	}
	if r.busy[k] {
		return nil, fmt.Errorf("%w: %s needs itself", ErrCycle, k.name)
	}
	if err := r.ctx.Err(); err != nil {
		return nil, err
	}
	r.busy[k] = true
	defer delete(r.busy, k)
	var cycle, failed error
	for f := r.c.funs; f != nil; f = f.next {
		if f.key != k {
			continue
		}
		v, err := f.run(r)
		switch {
		case err == nil:
			r.memo[k] = v
			return v, nil
		case errors.Is(err, ErrCycle):
			cycle = err
		case errors.Is(err, ErrNotFound):
		default:
			failed = err
		}
	}
	switch {
	case failed != nil:
		return nil, failed
	case cycle != nil:
		return nil, cycle
	}
	return nil, fmt.Errorf("%w: no value for %s", ErrNotFound, k.name)
}
