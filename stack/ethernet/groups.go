package ethernet

import (
	"errors"

	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/netif"
)

// MaxGroups bounds the multicast groups a Layer accepts: IPv6's
// all-nodes group, a solicited-node group per address, a few more.
const MaxGroups = 48

// Errors returned by JoinGroup and LeaveGroup.
var (
	ErrNotGroup      = errors.New("ethernet: not a multicast group address")
	ErrTooManyGroups = errors.New("ethernet: multicast group table full")
	ErrNotJoined     = errors.New("ethernet: group not joined")
)

type groupRef struct {
	mac  inet.MAC
	refs int
}

// groups is the set of multicast MAC groups accepted, with a reference
// count each: IPv6 groups that share their low 32 bits share a MAC
// (RFC 2464 §7).
type groups struct {
	g [MaxGroups]groupRef
	n int
}

func (t *groups) find(m inet.MAC) int {
	for i := range t.g[:t.n] {
		if t.g[i].mac == m {
			return i
		}
	}
	return -1
}

// JoinGroup makes the layer accept frames sent to the multicast group m
// (33:33:xx:xx:xx:xx for an IPv6 group, RFC 2464 §7; 01:00:5e:... for an
// IPv4 one, RFC 1112 §6.4), or counts one more reference to it. On a
// change it programs the device's own filter if it has one
// (netif.MulticastFilter); a device error is counted (FilterErrors) and
// returned, the group being accepted in software anyway.
func (l *Layer) JoinGroup(m inet.MAC) error {
	if !m.IsMulticast() || m.IsBroadcast() {
		return ErrNotGroup
	}
	t := &l.groups
	if i := t.find(m); i >= 0 {
		t.g[i].refs++
		return nil
	}
	if t.n == MaxGroups {
		return ErrTooManyGroups
	}
	t.g[t.n] = groupRef{m, 1}
	t.n++
	return l.program()
}

// LeaveGroup drops one reference to m; the last one stops accepting it.
func (l *Layer) LeaveGroup(m inet.MAC) error {
	t := &l.groups
	i := t.find(m)
	if i < 0 {
		return ErrNotJoined
	}
	if t.g[i].refs--; t.g[i].refs > 0 {
		return nil
	}
	copy(t.g[i:], t.g[i+1:t.n])
	t.n--
	t.g[t.n] = groupRef{}
	return l.program()
}

// Groups appends the groups accepted to dst and returns it.
func (l *Layer) Groups(dst []inet.MAC) []inet.MAC {
	for i := range l.groups.g[:l.groups.n] {
		dst = append(dst, l.groups.g[i].mac)
	}
	return dst
}

// program gives the device the current set, if it filters by itself.
func (l *Layer) program() error {
	f, ok := l.dev.(netif.MulticastFilter)
	if !ok {
		return nil
	}
	l.scratch = l.Groups(l.scratch[:0])
	if err := f.SetMulticast(l.scratch); err != nil {
		l.stats.FilterErrors++
		return err
	}
	return nil
}
