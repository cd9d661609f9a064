package output

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"reflect"
)

// MarshalJSON encodes v as encoding/json does (with the given indent and
// HTML escaping), except that a NaN or an infinity, which encoding/json
// refuses, does not lose the whole document: such numbers are written as
// 0, and replaced is how many there were. Every output goes through it,
// so one bad value (from a bug, or from a peer that got past validation)
// costs that value, not the summary, the report or the web UI's answers.
// When v holds such numbers they are set to 0 in place (through the
// pointers, maps and slices it holds).
func MarshalJSON(v any, indent string, escapeHTML bool) (out []byte, replaced int, err error) {
	encode := func(v any) ([]byte, error) {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(escapeHTML)
		enc.SetIndent("", indent)
		if err := enc.Encode(v); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}
	out, err = encode(v)
	var unsupported *json.UnsupportedValueError
	if !errors.As(err, &unsupported) {
		return out, 0, err
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer {
		// Work on an addressable copy so fields can be set.
		p := reflect.New(rv.Type())
		p.Elem().Set(rv)
		rv = p
	}
	replaced = zeroNonFinite(rv, map[uintptr]bool{})
	out, err = encode(rv.Interface())
	return out, replaced, err
}

// zeroNonFinite sets every NaN and infinity reachable from v to 0 and
// returns how many it set. seen guards against pointer cycles.
func zeroNonFinite(v reflect.Value, seen map[uintptr]bool) int {
	switch v.Kind() {
	case reflect.Float32, reflect.Float64:
		if f := v.Float(); (math.IsNaN(f) || math.IsInf(f, 0)) && v.CanSet() {
			v.SetFloat(0)
			return 1
		}
	case reflect.Pointer:
		if v.IsNil() || seen[v.Pointer()] {
			return 0
		}
		seen[v.Pointer()] = true
		return zeroNonFinite(v.Elem(), seen)
	case reflect.Interface:
		if v.IsNil() {
			return 0
		}
		e := v.Elem()
		if e.Kind() == reflect.Pointer || !v.CanSet() {
			return zeroNonFinite(e, seen)
		}
		c := reflect.New(e.Type()).Elem()
		c.Set(e)
		n := zeroNonFinite(c, seen)
		if n > 0 {
			v.Set(c)
		}
		return n
	case reflect.Struct:
		n := 0
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				n += zeroNonFinite(v.Field(i), seen)
			}
		}
		return n
	case reflect.Slice, reflect.Array:
		n := 0
		for i := range v.Len() {
			n += zeroNonFinite(v.Index(i), seen)
		}
		return n
	case reflect.Map:
		n := 0
		it := v.MapRange()
		for it.Next() {
			c := reflect.New(it.Value().Type()).Elem()
			c.Set(it.Value())
			if k := zeroNonFinite(c, seen); k > 0 {
				v.SetMapIndex(it.Key(), c)
				n += k
			}
		}
		return n
	}
	return 0
}
