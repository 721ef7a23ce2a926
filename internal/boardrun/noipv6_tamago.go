//go:build tamago && mirago_noipv6

package boardrun

// startIPv6 does nothing: the image has no IPv6 (IPV6=0).
func (e *Env) startIPv6() {}
