package script

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"hash"
	"sort"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
)

// hashlib, hmac and uuid: what a script needs to sign a request or make
// an idempotency key.

var hashConstructors = map[string]func() hash.Hash{
	"md5":    md5.New,
	"sha1":   sha1.New,
	"sha224": sha256.New224,
	"sha256": sha256.New,
	"sha384": sha512.New384,
	"sha512": sha512.New,
}

func hashNames() string {
	names := make([]string, 0, len(hashConstructors))
	for n := range hashConstructors {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// strOrBytes reads an argument that may be a string or bytes.
func strOrBytes(fn, what string, v starlark.Value) (string, error) {
	switch v := v.(type) {
	case starlark.String:
		return string(v), nil
	case starlark.Bytes:
		return string(v), nil
	}
	return "", fmt.Errorf("%s: %s must be a string or bytes, got %s", fn, what, v.Type())
}

// strFunc makes a builtin of one string argument that returns a string.
func strFunc(name string, f func(string) string) *starlark.Builtin {
	return starlark.NewBuiltin(name, func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var s string
		if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &s); err != nil {
			return nil, err
		}
		return starlark.String(f(s)), nil
	})
}

func newHashlibModule() *starlarkstruct.Module {
	m := starlark.StringDict{
		"new": starlark.NewBuiltin("hashlib.new", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var (
				name string
				data starlark.Value = starlark.None
			)
			if err := starlark.UnpackArgs(b.Name(), args, kwargs, "name", &name, "data?", &data); err != nil {
				return nil, err
			}
			return newHashValue(b.Name(), name, data)
		}),
	}
	for name := range hashConstructors {
		m[name] = starlark.NewBuiltin("hashlib."+name, func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var data starlark.Value = starlark.None
			if err := starlark.UnpackArgs(b.Name(), args, kwargs, "data?", &data); err != nil {
				return nil, err
			}
			return newHashValue(b.Name(), name, data)
		})
	}
	return &starlarkstruct.Module{Name: "hashlib", Members: m}
}

func newHashValue(fn, name string, data starlark.Value) (*hashValue, error) {
	mk, ok := hashConstructors[strings.ToLower(name)]
	if !ok {
		return nil, fmt.Errorf("%s: unknown hash %q (have %s)", fn, name, hashNames())
	}
	h := &hashValue{name: strings.ToLower(name), h: mk()}
	if data != starlark.None {
		s, err := strOrBytes(fn, "data", data)
		if err != nil {
			return nil, err
		}
		h.h.Write([]byte(s))
	}
	return h, nil
}

// hashValue is a running hash (hashlib.sha256(...) or hmac.new(...)).
type hashValue struct {
	name   string // "sha256", or "hmac-sha256"
	h      hash.Hash
	frozen bool
}

var _ starlark.HasAttrs = (*hashValue)(nil)

func (h *hashValue) String() string        { return fmt.Sprintf("<%s hash>", h.name) }
func (h *hashValue) Type() string          { return "hash" }
func (h *hashValue) Freeze()               { h.frozen = true }
func (h *hashValue) Truth() starlark.Bool  { return true }
func (h *hashValue) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: hash") }
func (h *hashValue) AttrNames() []string {
	return []string{"block_size", "copy", "digest", "digest_size", "hexdigest", "name", "update"}
}

func (h *hashValue) Attr(name string) (starlark.Value, error) {
	switch name {
	case "name":
		return starlark.String(h.name), nil
	case "digest_size":
		return starlark.MakeInt(h.h.Size()), nil
	case "block_size":
		return starlark.MakeInt(h.h.BlockSize()), nil
	case "update", "digest", "hexdigest", "copy":
		return starlark.NewBuiltin(name, h.method), nil
	}
	return nil, nil
}

func (h *hashValue) method(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if b.Name() == "update" {
		var data starlark.Value
		if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &data); err != nil {
			return nil, err
		}
		if h.frozen {
			return nil, fmt.Errorf("update: cannot update a frozen %s hash (a global): make it inside the task", h.name)
		}
		s, err := strOrBytes("update", "data", data)
		if err != nil {
			return nil, err
		}
		h.h.Write([]byte(s))
		return starlark.None, nil
	}
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0); err != nil {
		return nil, err
	}
	switch b.Name() {
	case "digest":
		return starlark.Bytes(h.h.Sum(nil)), nil
	case "hexdigest":
		return starlark.String(hex.EncodeToString(h.h.Sum(nil))), nil
	}
	// copy: Go's standard hashes can marshal their state
	m, ok := h.h.(interface{ MarshalBinary() ([]byte, error) })
	mk, known := hashConstructors[h.name]
	if !ok || !known {
		return nil, fmt.Errorf("copy: a %s hash cannot be copied", h.name)
	}
	state, err := m.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("copy: %v", err)
	}
	c := mk()
	if err := c.(interface{ UnmarshalBinary([]byte) error }).UnmarshalBinary(state); err != nil {
		return nil, fmt.Errorf("copy: %v", err)
	}
	return &hashValue{name: h.name, h: c}, nil
}

func newHmacModule() *starlarkstruct.Module {
	return &starlarkstruct.Module{Name: "hmac", Members: starlark.StringDict{
		"new":            starlark.NewBuiltin("hmac.new", hmacNew),
		"digest":         starlark.NewBuiltin("hmac.digest", hmacNew),
		"compare_digest": starlark.NewBuiltin("hmac.compare_digest", hmacCompare),
	}}
}

// hmacNew is hmac.new(key, msg=None, digestmod="sha256") and
// hmac.digest(key, msg, digest="sha256"), which returns the digest at once.
func hmacNew(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var (
		key, msg  starlark.Value
		digestmod starlark.Value = starlark.String("sha256")
	)
	modName := "digestmod?"
	if b.Name() == "hmac.digest" {
		modName = "digest?"
	}
	msg = starlark.None
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "key", &key, "msg?", &msg, modName, &digestmod); err != nil {
		return nil, err
	}
	k, err := strOrBytes(b.Name(), "key", key)
	if err != nil {
		return nil, err
	}
	var name string
	switch d := digestmod.(type) {
	case starlark.String:
		name = strings.ToLower(string(d))
	case *starlark.Builtin: // hashlib.sha256, as Python code passes it
		name = strings.TrimPrefix(d.Name(), "hashlib.")
	default:
		return nil, fmt.Errorf("%s: digestmod must be a hash name such as \"sha256\" or hashlib.sha256, got %s", b.Name(), digestmod.Type())
	}
	mk, ok := hashConstructors[name]
	if !ok {
		return nil, fmt.Errorf("%s: unknown digestmod %q (have %s)", b.Name(), name, hashNames())
	}
	h := &hashValue{name: "hmac-" + name, h: hmac.New(mk, []byte(k))}
	if msg != starlark.None {
		s, err := strOrBytes(b.Name(), "msg", msg)
		if err != nil {
			return nil, err
		}
		h.h.Write([]byte(s))
	}
	if b.Name() == "hmac.digest" {
		return starlark.Bytes(h.h.Sum(nil)), nil
	}
	return h, nil
}

func hmacCompare(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var x, y starlark.Value
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 2, &x, &y); err != nil {
		return nil, err
	}
	a, err := strOrBytes(b.Name(), "a", x)
	if err != nil {
		return nil, err
	}
	c, err := strOrBytes(b.Name(), "b", y)
	if err != nil {
		return nil, err
	}
	return starlark.Bool(subtle.ConstantTimeCompare([]byte(a), []byte(c)) == 1), nil
}

// uuid4 draws from the operating system's random source, not the user's
// seeded generator: a seeded run repeats its choices, but the ids it sends
// (idempotency keys, correlation ids) must not collide with the last run's.
func newUUIDModule() *starlarkstruct.Module {
	return &starlarkstruct.Module{Name: "uuid", Members: starlark.StringDict{
		"uuid4": starlark.NewBuiltin("uuid.uuid4", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0); err != nil {
				return nil, err
			}
			var u [16]byte
			_, _ = rand.Read(u[:])  // never fails (crypto/rand documents it)
			u[6] = u[6]&0x0f | 0x40 // version 4
			u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
			return starlark.String(fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])), nil
		}),
	}}
}
