package main

// A small text format for provider schemas, so that the transcription of the
// upstream documentation stays readable and reviewable line by line:
//
//	provider                      the provider's own configuration block
//	resource NAME                 a managed resource
//	data NAME                     a data source
//	  attr NAME TYPE FLAG...      an attribute (indented under its parent)
//	  block NAME list|set [min=N] [max=N]
//	                              a nested block; its attributes are indented
//
// TYPE is string, bool, int, float, number, list(T), set(T), map(T) or
// object(key:T,key:T). FLAG is one of required, optional, computed,
// sensitive, writeonly, default=VALUE, oneof=A|B|C ('~' stands for a space
// inside a value). Anything after '#' is a comment.

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"
)

type attrSpec struct {
	Name      string
	Type      typeSpec
	Required  bool
	Optional  bool
	Computed  bool
	Sensitive bool
	WriteOnly bool
	Default   *string
	OneOf     []string
}

type blockSpec struct {
	Name     string
	Nesting  string // list or set
	Min, Max int    // Max 0 means unbounded
	Attrs    []*attrSpec
	Blocks   []*blockSpec
}

type typeSpec struct {
	Kind   string // string bool int float number list set map object
	Elem   *typeSpec
	Fields []fieldSpec
}

type fieldSpec struct {
	Name string
	Type typeSpec
}

type schemaFile struct {
	Provider    *blockSpec
	Resources   map[string]*blockSpec
	DataSources map[string]*blockSpec
	Order       []string
}

func parseSchemaFile(name, text string) (*schemaFile, error) {
	sf := &schemaFile{Resources: map[string]*blockSpec{}, DataSources: map[string]*blockSpec{}}
	type frame struct {
		indent int
		block  *blockSpec
	}
	var stack []frame
	sc := bufio.NewScanner(strings.NewReader(text))
	lineNo := 0
	for sc.Scan() {
		lineNo++
		line := sc.Text()
		if i := strings.Index(line, "#"); i >= 0 {
			line = line[:i]
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		indent := len(line) - len(strings.TrimLeft(line, " "))
		fields := strings.Fields(line)
		errf := func(format string, a ...any) error {
			return fmt.Errorf("%s:%d: %s", name, lineNo, fmt.Sprintf(format, a...))
		}
		if indent == 0 {
			b := &blockSpec{Nesting: "single"}
			switch {
			case fields[0] == "provider" && len(fields) == 1:
				if sf.Provider != nil {
					return nil, errf("second provider section")
				}
				sf.Provider = b
			case fields[0] == "resource" && len(fields) == 2:
				if sf.Resources[fields[1]] != nil {
					return nil, errf("duplicate resource %s", fields[1])
				}
				b.Name = fields[1]
				sf.Resources[fields[1]] = b
				sf.Order = append(sf.Order, "resource "+fields[1])
			case fields[0] == "data" && len(fields) == 2:
				if sf.DataSources[fields[1]] != nil {
					return nil, errf("duplicate data source %s", fields[1])
				}
				b.Name = fields[1]
				sf.DataSources[fields[1]] = b
				sf.Order = append(sf.Order, "data "+fields[1])
			default:
				return nil, errf("expected 'provider', 'resource NAME' or 'data NAME', got %q", strings.TrimSpace(line))
			}
			stack = []frame{{0, b}}
			continue
		}
		for len(stack) > 0 && stack[len(stack)-1].indent >= indent {
			stack = stack[:len(stack)-1]
		}
		if len(stack) == 0 {
			return nil, errf("indented line outside a section")
		}
		parent := stack[len(stack)-1].block
		for _, a := range parent.Attrs {
			if len(fields) > 1 && a.Name == fields[1] {
				return nil, errf("duplicate name %s", fields[1])
			}
		}
		for _, b := range parent.Blocks {
			if len(fields) > 1 && b.Name == fields[1] {
				return nil, errf("duplicate name %s", fields[1])
			}
		}
		switch fields[0] {
		case "attr":
			if len(fields) < 4 {
				return nil, errf("attr needs NAME TYPE FLAGS")
			}
			t, rest, err := parseType(fields[2])
			if err != nil || rest != "" {
				return nil, errf("bad type %q: %v", fields[2], err)
			}
			a := &attrSpec{Name: fields[1], Type: t}
			for _, f := range fields[3:] {
				switch {
				case f == "required":
					a.Required = true
				case f == "optional":
					a.Optional = true
				case f == "computed":
					a.Computed = true
				case f == "sensitive":
					a.Sensitive = true
				case f == "writeonly":
					a.WriteOnly = true
				case strings.HasPrefix(f, "default="):
					v := strings.TrimPrefix(f, "default=")
					a.Default = &v
				case strings.HasPrefix(f, "oneof="):
					a.OneOf = strings.Split(strings.ReplaceAll(strings.TrimPrefix(f, "oneof="), "~", " "), "|")
				default:
					return nil, errf("unknown flag %q", f)
				}
			}
			if a.Required && (a.Optional || a.Computed) {
				return nil, errf("attr %s: required cannot be optional or computed", a.Name)
			}
			if !a.Required && !a.Optional && !a.Computed {
				return nil, errf("attr %s: needs required, optional or computed", a.Name)
			}
			if a.WriteOnly && a.Type.Kind == "set" {
				return nil, errf("attr %s: writeonly sets are not supported", a.Name)
			}
			if a.WriteOnly && a.Computed {
				return nil, errf("attr %s: writeonly cannot be computed", a.Name)
			}
			if a.Default != nil {
				if !a.Optional {
					return nil, errf("attr %s: default needs optional", a.Name)
				}
				switch a.Type.Kind {
				case "string":
				case "bool":
					if _, err := strconv.ParseBool(*a.Default); err != nil {
						return nil, errf("attr %s: bad bool default", a.Name)
					}
				case "int":
					if _, err := strconv.ParseInt(*a.Default, 10, 64); err != nil {
						return nil, errf("attr %s: bad int default", a.Name)
					}
				case "float":
					if _, err := strconv.ParseFloat(*a.Default, 64); err != nil {
						return nil, errf("attr %s: bad float default", a.Name)
					}
				default:
					return nil, errf("attr %s: defaults only for scalar types", a.Name)
				}
				// as in the SDK the provider fills the default in at plan time
				a.Computed = true
			}
			if len(a.OneOf) > 0 && a.Type.Kind != "string" {
				return nil, errf("attr %s: oneof only for strings", a.Name)
			}
			parent.Attrs = append(parent.Attrs, a)
		case "block":
			if len(fields) < 3 || (fields[2] != "list" && fields[2] != "set") {
				return nil, errf("block needs NAME list|set")
			}
			b := &blockSpec{Name: fields[1], Nesting: fields[2]}
			for _, f := range fields[3:] {
				k, v, ok := strings.Cut(f, "=")
				n, err := strconv.Atoi(v)
				if !ok || err != nil || (k != "min" && k != "max") {
					return nil, errf("bad block option %q", f)
				}
				if k == "min" {
					b.Min = n
				} else {
					b.Max = n
				}
			}
			parent.Blocks = append(parent.Blocks, b)
			stack = append(stack, frame{indent, b})
		default:
			return nil, errf("expected attr or block, got %q", fields[0])
		}
	}
	return sf, sc.Err()
}

func parseType(s string) (typeSpec, string, error) {
	for _, k := range []string{"string", "bool", "int", "float", "number"} {
		if strings.HasPrefix(s, k) && !strings.HasPrefix(s, k+"(") {
			return typeSpec{Kind: k}, s[len(k):], nil
		}
	}
	for _, k := range []string{"list", "set", "map"} {
		if strings.HasPrefix(s, k+"(") {
			e, rest, err := parseType(s[len(k)+1:])
			if err != nil {
				return typeSpec{}, "", err
			}
			if !strings.HasPrefix(rest, ")") {
				return typeSpec{}, "", fmt.Errorf("missing ) in %q", s)
			}
			return typeSpec{Kind: k, Elem: &e}, rest[1:], nil
		}
	}
	if strings.HasPrefix(s, "object(") {
		t := typeSpec{Kind: "object"}
		rest := s[len("object("):]
		for {
			name, after, ok := strings.Cut(rest, ":")
			if !ok || name == "" {
				return typeSpec{}, "", fmt.Errorf("bad object field in %q", s)
			}
			ft, r, err := parseType(after)
			if err != nil {
				return typeSpec{}, "", err
			}
			t.Fields = append(t.Fields, fieldSpec{name, ft})
			if strings.HasPrefix(r, ",") {
				rest = r[1:]
				continue
			}
			if strings.HasPrefix(r, ")") {
				return t, r[1:], nil
			}
			return typeSpec{}, "", fmt.Errorf("bad object type %q", s)
		}
	}
	return typeSpec{}, "", fmt.Errorf("unknown type %q", s)
}
