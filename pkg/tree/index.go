package tree

import (
	"hash/maphash"
	"math/bits"
)

// index finds a group by its path or a user by its name: a table of node
// ids, open addressing, each compared with the tree's own name of the
// node. Unlike a map of strings it holds no pointer, so inserting needs no
// write barrier and the collector does not scan it; a tree of 10,000
// nodes is indexed on every verification. The seed is random, so that no
// bundle can choose names that collide.
//
// A slot holds the node id in its low bits, as many as the tree's largest
// id needs, and the high bits of the name's hash above it: a probe
// compares names only when those match, so that it rarely reads a node
// that is not the one sought (a cache miss each, in a large tree). Slots
// of 32 bits keep the index of a bundle's 10,000 nodes small.
type index struct {
	slots []uint32 // 0: empty; else hash's high bits | node id
	mask  uint64
	tags  uint32 // the bits of a slot above its node id
	seed  maphash.Seed
}

// newIndex returns an index with room for n nodes, at most half full,
// whose ids are at most maxID.
func newIndex(n int, maxID nodeID) index {
	size := 2
	for size < 2*n {
		size <<= 1
	}
	return index{slots: make([]uint32, size), mask: uint64(size - 1),
		tags: ^uint32(0) << bits.Len32(uint32(maxID)), seed: maphash.MakeSeed()}
}

// key returns the name a node is indexed by.
func (m *Model) key(id nodeID) string {
	if int(id) <= len(m.Tree.Groups) {
		return m.Tree.Groups[id-1].Path
	}
	return m.Tree.Users[int(id)-1-len(m.Tree.Groups)].Name
}

// find returns the node of x named s, 0 if none, and what insert needs
// to put s where it goes.
func (m *Model) find(x *index, s string) (nodeID, slot) {
	h := maphash.String(x.seed, s)
	tag := uint32(h>>32) & x.tags
	i := h & x.mask
	for {
		e := x.slots[i]
		if e == 0 {
			return 0, slot{i, tag}
		}
		if e&x.tags == tag {
			if id := nodeID(e &^ x.tags); m.key(id) == s {
				return id, slot{i, tag}
			}
		}
		i = (i + 1) & x.mask
	}
}

// slot is where find found a name missing, and its hash's high bits.
type slot struct {
	i   uint64
	tag uint32
}

// insert puts node id in the slot find returned for its name.
func (x *index) insert(s slot, id nodeID) { x.slots[s.i] = s.tag | uint32(id) }

// groupID returns the id of the group at path.
func (m *Model) groupID(path string) (nodeID, bool) {
	id, _ := m.find(&m.groups, path)
	return id, id != 0
}

// userID returns the id of the user named name.
func (m *Model) userID(name string) (nodeID, bool) {
	id, _ := m.find(&m.users, name)
	return id, id != 0
}
