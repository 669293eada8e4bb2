package pgsql

import (
	"encoding/binary"
	"hash/maphash"
	"slices"
)

// maxKeySet is the most keys a merge's key set notes: 8 bytes each, so at most 1 MiB per apply.
// A merge of more rows takes DISTINCT ON without asking.
const maxKeySet = 1 << 17

// keySet notes a hash of the key of each row staged for one merge, to tell whether every key
// came once: then each staged row is its key's last state, and the merge needs no DISTINCT ON.
// Two keys with the same hash, or more rows than maxKeySet, count as a repeat, which only costs
// the DISTINCT ON it would have cost anyway. Keys are compared by their bytes in the COPY
// stream, which PostgreSQL compares the same way for every type but numeric (1.0 = 1.00) and
// floats (0 = -0): a key with such a column always takes DISTINCT ON.
type keySet struct {
	seed   maphash.Seed
	seeded bool
	key    []bool // by staged field: whether it is a key column (the two staging fields first)
	hashes []uint64
	over   bool // more rows than maxKeySet were staged, the key's bytes are not canonical, or the set is off
	h      maphash.Hash
}

// reset empties the set for a merge of a segment's rows.
func (k *keySet) reset(seg *segment) {
	if !k.seeded {
		k.seed, k.seeded = maphash.MakeSeed(), true
		k.h.SetSeed(k.seed)
	}
	k.key = append(k.key[:0], false, false) // the sequence number and the delete flag
	k.hashes, k.over = k.hashes[:0], !distinctOnlyOnRepeats
	for _, f := range seg.fields {
		k.key = append(k.key, f.col.PrimaryKey)
		if f.col.PrimaryKey && (f.kind == kindNumeric || f.kind == kindFloat4 || f.kind == kindFloat8) {
			k.over = true
		}
	}
}

// add notes the key of one staged tuple: its field count, then each field's length and bytes.
func (k *keySet) add(tuple []byte) {
	if k.over {
		return
	}
	if len(k.hashes) == maxKeySet {
		k.over = true
		return
	}
	k.h.Reset()
	off := 2
	for _, isKey := range k.key {
		n := int(int32(binary.BigEndian.Uint32(tuple[off:])))
		end := off + 4 + max(n, 0)
		if isKey {
			// The length goes in too, so that the fields of a composite key cannot run together.
			k.h.Write(tuple[off:end])
		}
		off = end
	}
	k.hashes = append(k.hashes, k.h.Sum64())
}

// unique reports whether every key noted since reset was different.
func (k *keySet) unique() bool {
	if k.over {
		return false
	}
	slices.Sort(k.hashes)
	for i := 1; i < len(k.hashes); i++ {
		if k.hashes[i] == k.hashes[i-1] {
			return false
		}
	}
	return true
}
