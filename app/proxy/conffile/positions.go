package conffile

import (
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"
)

// positions maps the path of every key, table and array element of a
// TOML document to "name:LINE". Paths join keys with '.' and index arrays
// with [i], as config's error paths do: "pool.web.upstreams[1].weight".
// The document is known to parse (toml.Unmarshal accepted it).
func positions(name string, data []byte) map[string]string {
	out := map[string]string{}
	p := unstable.Parser{}
	p.Reset(data)
	at := func(n *unstable.Node) string {
		return name + ":" + strconv.Itoa(p.Shape(n.Raw).Start.Line)
	}
	var table []string
	arrays := map[string]int{} // [[array]] tables seen so far, by path
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table, unstable.ArrayTable:
			table = keyParts(e.Key())
			path := strings.Join(table, ".")
			if e.Kind == unstable.ArrayTable {
				i := arrays[path]
				arrays[path] = i + 1
				path += "[" + strconv.Itoa(i) + "]"
				table = []string{path}
			}
			if k := e.Child(); k != nil {
				out[path] = at(k)
			}
		case unstable.KeyValue:
			it := e.Key()
			var key []string
			var first *unstable.Node
			for it.Next() {
				if first == nil {
					first = it.Node()
				}
				key = append(key, string(it.Node().Data))
			}
			path := strings.Join(append(append([]string{}, table...), key...), ".")
			out[path] = at(first)
			value(out, path, e.Value(), at)
		}
	}
	return out
}

// value records the positions inside an inline table or array value.
func value(out map[string]string, path string, v *unstable.Node, at func(*unstable.Node) string) {
	switch v.Kind {
	case unstable.Array:
		it := v.Children()
		for i := 0; it.Next(); i++ {
			p := path + "[" + strconv.Itoa(i) + "]"
			n := it.Node()
			if n.Raw.Length > 0 {
				out[p] = at(n)
			} else {
				out[p] = out[path]
			}
			value(out, p, n, at)
		}
	case unstable.InlineTable:
		it := v.Children()
		for it.Next() {
			kv := it.Node()
			k := kv.Key()
			var key []string
			var first *unstable.Node
			for k.Next() {
				if first == nil {
					first = k.Node()
				}
				key = append(key, string(k.Node().Data))
			}
			p := path + "." + strings.Join(key, ".")
			out[p] = at(first)
			value(out, p, kv.Value(), at)
		}
	}
}

func keyParts(it unstable.Iterator) []string {
	var parts []string
	for it.Next() {
		parts = append(parts, string(it.Node().Data))
	}
	return parts
}
