package tree

import "hash/maphash"

// index finds a group by its path or a user by its name: a table of node
// ids, open addressing, each compared with the tree's own name of the
// node. Unlike a map of strings it holds no pointer, so inserting needs no
// write barrier and the collector does not scan it; a tree of 10,000
// nodes is indexed on every verification. The seed is random, so that no
// bundle can choose names that collide.
type index struct {
	slots []nodeID // 0: empty
	mask  uint64
	seed  maphash.Seed
}

// newIndex returns an index with room for n nodes, at most half full.
func newIndex(n int) index {
	size := 2
	for size < 2*n {
		size <<= 1
	}
	return index{slots: make([]nodeID, size), mask: uint64(size - 1), seed: maphash.MakeSeed()}
}

// key returns the name a node is indexed by.
func (m *Model) key(id nodeID) string {
	if int(id) <= len(m.Tree.Groups) {
		return m.Tree.Groups[id-1].Path
	}
	return m.Tree.Users[int(id)-1-len(m.Tree.Groups)].Name
}

// find returns the node of x named s, 0 if none, and the slot where s is
// or goes.
func (m *Model) find(x *index, s string) (nodeID, uint64) {
	i := maphash.String(x.seed, s) & x.mask
	for {
		id := x.slots[i]
		if id == 0 || m.key(id) == s {
			return id, i
		}
		i = (i + 1) & x.mask
	}
}

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
