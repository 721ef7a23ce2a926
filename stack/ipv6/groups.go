package ipv6

import "github.com/mirago/mirago/stack/inet"

// MaxGroups bounds the multicast groups joined: all-nodes, a
// solicited-node group per address, a few for applications.
const MaxGroups = 32

// GroupHook is called on a group's first join (joined true) and last
// leave (false), with the stack lock held: MLD sends its reports (RFC
// 3810 §6.1), the Ethernet layer updates its multicast filter. It must
// not call back into the group methods.
type GroupHook func(g inet.Addr, joined bool)

type group struct {
	addr      inet.Addr
	refs      int
	permanent bool // ff02::1: never left
}

type groupTable struct {
	g    [MaxGroups]group
	n    int
	hook GroupHook
}

func (t *groupTable) find(a inet.Addr) int {
	for i := range t.g[:t.n] {
		if t.g[i].addr == a {
			return i
		}
	}
	return -1
}

func (t *groupTable) joinPermanent(a inet.Addr) {
	t.g[t.n] = group{addr: a, refs: 1, permanent: true}
	t.n++
}

// JoinGroupLocked joins multicast group g, or counts one more reference
// to it; the first join calls the group hook. It returns ErrGroup if g is
// not an IPv6 multicast address, ErrTooManyGroups when MaxGroups are
// joined.
func (l *Layer) JoinGroupLocked(g inet.Addr) error {
	if !g.Is6() || !g.IsMulticast() {
		return ErrGroup
	}
	t := &l.groups
	if i := t.find(g); i >= 0 {
		t.g[i].refs++
		return nil
	}
	if t.n == MaxGroups {
		return ErrTooManyGroups
	}
	t.g[t.n] = group{addr: g, refs: 1}
	t.n++
	if t.hook != nil {
		t.hook(g, true)
	}
	return nil
}

// LeaveGroupLocked drops one reference to g; the last one leaves the
// group and calls the group hook. It returns ErrNotJoined if g is not
// joined (or is ff02::1, which is never left).
func (l *Layer) LeaveGroupLocked(g inet.Addr) error {
	t := &l.groups
	i := t.find(g)
	if i < 0 || t.g[i].permanent {
		return ErrNotJoined
	}
	if t.g[i].refs--; t.g[i].refs > 0 {
		return nil
	}
	copy(t.g[i:], t.g[i+1:t.n])
	t.n--
	t.g[t.n] = group{}
	if t.hook != nil {
		t.hook(g, false)
	}
	return nil
}

// SetGroupHookLocked sets the hook called on first joins and last leaves
// (nil: none) and calls it at once for every group already joined,
// ff02::1 included, so that it starts from the whole set.
func (l *Layer) SetGroupHookLocked(h GroupHook) {
	t := &l.groups
	t.hook = h
	if h == nil {
		return
	}
	for i := range t.g[:t.n] {
		h(t.g[i].addr, true)
	}
}

// GroupsLocked appends the groups joined to dst and returns it.
func (l *Layer) GroupsLocked(dst []inet.Addr) []inet.Addr {
	for i := range l.groups.g[:l.groups.n] {
		dst = append(dst, l.groups.g[i].addr)
	}
	return dst
}

// IsJoined reports whether group g is joined.
func (l *Layer) IsJoined(g inet.Addr) bool { return l.groups.find(g) >= 0 }
