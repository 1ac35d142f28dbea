// Package schemas holds the Avro schemas of every record Open Bank puts on
// Kafka (the .avsc files beside this one) and the Go type of each record.
//
// Each .avsc file defines one named type. Shared types such as Id are defined
// once, in their own file, and referenced by name; Compose inlines their
// definition into each record's schema, because the schema registered for a
// subject must stand alone.
package schemas

import (
	"embed"
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strings"
	"sync"
)

// Namespace is the Avro namespace of every record.
const Namespace = "nl.openbank.data"

//go:embed *.avsc
var files embed.FS

var (
	loadOnce sync.Once
	loaded   map[string]map[string]any // full name -> parsed .avsc
	loadErr  error
)

func load() (map[string]map[string]any, error) {
	loadOnce.Do(func() {
		entries, err := files.ReadDir(".")
		if err != nil {
			loadErr = fmt.Errorf("read embedded schemas: %w", err)
			return
		}
		loaded = make(map[string]map[string]any, len(entries))
		for _, e := range entries {
			raw, err := files.ReadFile(e.Name())
			if err != nil {
				loadErr = fmt.Errorf("read %s: %w", e.Name(), err)
				return
			}
			var def map[string]any
			if err := json.Unmarshal(raw, &def); err != nil {
				loadErr = fmt.Errorf("parse %s: %w", e.Name(), err)
				return
			}
			name := fullName(def["name"], def["namespace"], "")
			if want := strings.TrimSuffix(e.Name(), path.Ext(e.Name())); !strings.HasSuffix(name, "."+want) {
				loadErr = fmt.Errorf("%s defines %s: the file must be named after its type", e.Name(), name)
				return
			}
			loaded[name] = def
		}
	})
	return loaded, loadErr
}

// RecordNames lists the full names of all record schemas (shared types such
// as Id excluded), sorted.
func RecordNames() ([]string, error) {
	defs, err := load()
	if err != nil {
		return nil, err
	}
	var names []string
	for name, def := range defs {
		if def["type"] == "record" {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names, nil
}

var (
	composeMu sync.Mutex
	composed  = map[string]string{}
)

// Compose returns the stand-alone schema of the named record: its .avsc with
// every shared named type it refers to defined inline at first use. The
// result is deterministic, so registering it twice yields the same schema id.
func Compose(fullName string) (string, error) {
	composeMu.Lock()
	defer composeMu.Unlock()
	if s, ok := composed[fullName]; ok {
		return s, nil
	}
	defs, err := load()
	if err != nil {
		return "", err
	}
	def, ok := defs[fullName]
	if !ok || def["type"] != "record" {
		return "", fmt.Errorf("no record schema named %q", fullName)
	}
	c := composer{defs: defs, defined: map[string]bool{fullName: true}}
	out, err := c.inline(deepCopy(def), namespaceOf(fullName))
	if err != nil {
		return "", fmt.Errorf("compose %s: %w", fullName, err)
	}
	b, err := json.Marshal(out)
	if err != nil {
		return "", fmt.Errorf("compose %s: %w", fullName, err)
	}
	composed[fullName] = string(b)
	return string(b), nil
}

type composer struct {
	defs    map[string]map[string]any
	defined map[string]bool
}

var primitives = map[string]bool{
	"null": true, "boolean": true, "int": true, "long": true,
	"float": true, "double": true, "bytes": true, "string": true,
}

// inline walks a schema node; ns is the enclosing namespace, which Avro uses
// to resolve short type names.
func (c *composer) inline(node any, ns string) (any, error) {
	switch n := node.(type) {
	case string:
		if primitives[n] {
			return n, nil
		}
		name := fullName(n, nil, ns)
		if c.defined[name] {
			return name, nil
		}
		def, ok := c.defs[name]
		if !ok {
			return nil, fmt.Errorf("unknown type %q", n)
		}
		c.defined[name] = true
		return c.inline(deepCopy(def), namespaceOf(name))
	case []any:
		for i, v := range n {
			r, err := c.inline(v, ns)
			if err != nil {
				return nil, err
			}
			n[i] = r
		}
		return n, nil
	case map[string]any:
		if name, ok := n["name"].(string); ok && n["type"] != nil && isNamedKind(n["type"]) {
			full := fullName(name, n["namespace"], ns)
			c.defined[full] = true
			ns = namespaceOf(full)
		}
		for _, key := range []string{"type", "items", "values", "fields"} {
			v, ok := n[key]
			if !ok || (key == "type" && complexKinds[fmt.Sprint(v)]) {
				continue
			}
			if key == "fields" {
				fields, _ := v.([]any)
				for _, f := range fields {
					fm, ok := f.(map[string]any)
					if !ok {
						return nil, fmt.Errorf("malformed field %v", f)
					}
					t, err := c.inline(fm["type"], ns)
					if err != nil {
						return nil, fmt.Errorf("field %v: %w", fm["name"], err)
					}
					fm["type"] = t
				}
				continue
			}
			r, err := c.inline(v, ns)
			if err != nil {
				return nil, err
			}
			n[key] = r
		}
		return n, nil
	default:
		return node, nil
	}
}

// complexKinds are the values of "type" that open a definition rather than
// name a type.
var complexKinds = map[string]bool{"record": true, "error": true, "enum": true, "fixed": true, "array": true, "map": true}

func isNamedKind(t any) bool {
	s, _ := t.(string)
	return s == "record" || s == "fixed" || s == "enum" || s == "error"
}

func fullName(name, namespace any, enclosing string) string {
	n, _ := name.(string)
	if strings.Contains(n, ".") {
		return n
	}
	if ns, _ := namespace.(string); ns != "" {
		return ns + "." + n
	}
	if enclosing != "" {
		return enclosing + "." + n
	}
	return n
}

func namespaceOf(full string) string {
	if i := strings.LastIndexByte(full, '.'); i >= 0 {
		return full[:i]
	}
	return ""
}

func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		s := make([]any, len(t))
		for i, e := range t {
			s[i] = deepCopy(e)
		}
		return s
	default:
		return v
	}
}
