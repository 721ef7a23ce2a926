// Package mimic resolves a flow from a typed context: seed 004's Mimic,
// the Go way.
//
// A Ctx holds typed values under Keys and derivations that compute values
// from other values (seed 004's Fun: required, optional and default
// arguments). A Registry holds protocols; each is registered with a
// priority and a function that connects to an endpoint of its own type.
// Resolve picks, lowest priority first, the protocols whose endpoint the
// Ctx has or can derive, connects, and returns the flow. The caller finds
// out which protocol it got with a type assertion on the flow (seed 004's
// repr).
package mimic

// keyID is the identity of a key; two keys are the same only if created by
// the same NewKey call, whatever their names.
type keyID struct{ name string }

// Key is a typed name for a value in a Ctx (seed 004's 'a value, a
// witness made with Mimic.make).
type Key[T any] struct{ id *keyID }

// NewKey returns a new key. The name is for messages only.
func NewKey[T any](name string) Key[T] {
	return Key[T]{id: &keyID{name: name}}
}

// Name returns the key's name.
func (k Key[T]) Name() string {
	if k.id == nil {
		return "<nil key>"
	}
	return k.id.name
}

// String implements fmt.Stringer.
func (k Key[T]) String() string { return k.Name() }

// ServerName is the key of the server name a TLS client asked for (RFC
// 6066 §3, lower case), as flow/mimic/tlshello reads it from the
// ClientHello of an accepted flow without terminating TLS. A router binds
// it (With) and derives from it, e.g. which pool serves the flow.
var ServerName = NewKey[string]("tls.server_name")
