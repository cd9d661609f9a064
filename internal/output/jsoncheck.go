package output

import (
	"fmt"
	"reflect"
	"strings"
	"time"
)

var timeType = reflect.TypeFor[time.Time]()

// checkStats refuses a summary whose statistics hold a negative number
// (a count, a time, a size or a rate: none can be negative), naming the
// field, as the CSV reader of `stampede report` does for its columns. A
// summary given to `report` may come from anywhere; encoding/json
// already refuses what is not finite.
func checkStats(d *Document) error {
	if d.Stats == nil {
		return nil
	}
	return nonNegative(reflect.ValueOf(d.Stats).Elem(), "stats")
}

func nonNegative(v reflect.Value, path string) error {
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if v.Int() < 0 {
			return fmt.Errorf("%s: %d is negative", path, v.Int())
		}
	case reflect.Float32, reflect.Float64:
		if v.Float() < 0 {
			return fmt.Errorf("%s: %g is negative", path, v.Float())
		}
	case reflect.Pointer:
		if !v.IsNil() {
			return nonNegative(v.Elem(), path)
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if err := nonNegative(v.Index(i), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			if err := nonNegative(iter.Value(), fmt.Sprintf("%s[%q]", path, iter.Key())); err != nil {
				return err
			}
		}
	case reflect.Struct:
		if v.Type() == timeType {
			return nil
		}
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" || name == "-" {
				name = f.Name
			}
			if err := nonNegative(v.Field(i), path+"."+name); err != nil {
				return err
			}
		}
	}
	return nil
}
