package expr

import (
	"encoding/json"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// Object is an ordered map with case-insensitive keys, the expression
// language's object value. Keys keep the casing they were first set with and
// iterate in insertion order. The zero value is not usable; call NewObject.
type Object struct {
	keys  []string
	vals  []any
	index map[string]int
}

// NewObject returns an empty Object.
func NewObject() *Object {
	return &Object{index: map[string]int{}}
}

// Set stores v under k. When a key equal to k ignoring case already exists,
// its value is replaced and its original casing kept.
func (o *Object) Set(k string, v any) {
	f := foldCase(k)
	if i, ok := o.index[f]; ok {
		o.vals[i] = v
		return
	}
	o.index[f] = len(o.keys)
	o.keys = append(o.keys, k)
	o.vals = append(o.vals, v)
}

// Get returns the value stored under k, compared case-insensitively.
func (o *Object) Get(k string) (any, bool) {
	if o == nil {
		return nil, false
	}
	i, ok := o.index[foldCase(k)]
	if !ok {
		return nil, false
	}
	return o.vals[i], true
}

// Keys returns the keys in insertion order.
func (o *Object) Keys() []string {
	if o == nil {
		return nil
	}
	return append([]string(nil), o.keys...)
}

// Values returns the values in key insertion order.
func (o *Object) Values() []any {
	if o == nil {
		return nil
	}
	return append([]any(nil), o.vals...)
}

// Len returns the number of keys.
func (o *Object) Len() int {
	if o == nil {
		return 0
	}
	return len(o.keys)
}

// Unknown is a value the evaluator cannot know: a variable, an input, a
// job output or anything derived from one. It stands for every possible
// value at once. Operations propagate it (a property, an index or a
// comparison of an Unknown is Unknown; fromJSON of it is Unknown), and &&,
// ||, ! and case() keep what is still decided (false && Unknown is
// false). Truthy reports an Unknown as true, because it may be; use
// IsUnknown to tell the difference. Unknown never comes out of the
// evaluation of known values, so GitHub's semantics are unchanged for
// them.
type Unknown struct{}

// IsUnknown reports whether v is an Unknown.
func IsUnknown(v any) bool {
	_, ok := v.(Unknown)
	return ok
}

// HasUnknown reports whether v is an Unknown or an array or object that
// holds one at any depth.
func HasUnknown(v any) bool {
	switch x := v.(type) {
	case Unknown:
		return true
	case []any:
		for _, e := range x {
			if HasUnknown(e) {
				return true
			}
		}
	case filtered:
		return HasUnknown([]any(x))
	case *Object:
		for _, e := range x.vals {
			if HasUnknown(e) {
				return true
			}
		}
	}
	return false
}

// filtered is the result of a `*` object filter. Property access and
// indexing on it apply to every element and collect what is found.
type filtered []any

// Kind names the type of an expression value as GitHub does: Null, Boolean,
// Number, String, Array or Object.
func Kind(v any) string {
	switch v.(type) {
	case nil:
		return "Null"
	case bool:
		return "Boolean"
	case float64:
		return "Number"
	case string:
		return "String"
	case []any, filtered:
		return "Array"
	case *Object:
		return "Object"
	default:
		return "Unknown"
	}
}

// tri is a three-valued truth: decided true, decided false, or either.
type tri int

const (
	triFalse tri = iota
	triTrue
	triMaybe
)

// truth is Truthy with Unknown as triMaybe.
func truth(v any) tri {
	if IsUnknown(v) {
		return triMaybe
	}
	if Truthy(v) {
		return triTrue
	}
	return triFalse
}

// plain turns internal value forms (a filter result) into public ones.
func plain(v any) any {
	if f, ok := v.(filtered); ok {
		return []any(f)
	}
	return v
}

// asArray reports whether v is an array (or filter result) and returns it.
func asArray(v any) ([]any, bool) {
	switch a := v.(type) {
	case []any:
		return a, true
	case filtered:
		return []any(a), true
	}
	return nil, false
}

// Normalize converts a Go value into an expression value: maps with string
// keys become *Object (keys sorted, since Go maps have no order), slices
// and arrays become []any, integers, float32 and json.Number become
// float64, pointers are followed. Values of other types become nil.
func Normalize(v any) any {
	switch x := v.(type) {
	case nil, bool, float64, string, *Object, Unknown:
		return x
	case filtered:
		return x
	case []any:
		return arrayOf(x)
	case []string:
		return arrayOf(x)
	case map[string]any:
		return objectOf(x)
	case map[string]string:
		return objectOf(x)
	case int:
		return float64(x)
	case int64:
		return float64(x)
	case int32:
		return float64(x)
	case uint:
		return float64(x)
	case uint64:
		return float64(x)
	case uint32:
		return float64(x)
	case float32:
		return float64(x)
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return nil
		}
		return f
	default:
		return normalizeReflect(reflect.ValueOf(v))
	}
}

// arrayOf normalizes every element of s into a new array.
func arrayOf[T any](s []T) []any {
	out := make([]any, len(s), len(s)+1)
	for i, e := range s {
		out[i] = Normalize(e)
	}
	return out
}

// objectOf normalizes a string-keyed map into an Object, keys sorted.
func objectOf[V any](m map[string]V) *Object {
	o := NewObject()
	for _, k := range slices.Sorted(maps.Keys(m)) {
		o.Set(k, Normalize(m[k]))
	}
	return o
}

// normalizeReflect handles other slice and string-keyed map types
// ([]map[string]any, map[string][]string, ...).
func normalizeReflect(rv reflect.Value) any {
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		out := make([]any, rv.Len(), rv.Len()+1)
		for i := range out {
			out[i] = Normalize(rv.Index(i).Interface())
		}
		return out
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			return nil
		}
		keys := make([]string, 0, rv.Len())
		for _, k := range rv.MapKeys() {
			keys = append(keys, k.String())
		}
		slices.Sort(keys)
		o := NewObject()
		for _, k := range keys {
			o.Set(k, Normalize(rv.MapIndex(reflect.ValueOf(k).Convert(rv.Type().Key())).Interface()))
		}
		return o
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return nil
		}
		return Normalize(rv.Elem().Interface())
	}
	return nil
}

// Truthy reports whether v counts as true: false, 0, -0, NaN, ” and null
// are falsy; everything else, including empty arrays and objects, is
// truthy. An Unknown is truthy: it may be true.
func Truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case float64:
		return x != 0 && !math.IsNaN(x)
	case string:
		return x != ""
	default:
		return true
	}
}

// ToNumber coerces v to a number as GitHub does: null → 0, false → 0,
// true → 1, strings are parsed after trimming white space (” → 0,
// decimal, 0x hex, 0o octal, Infinity), anything unparsable, arrays and
// objects → NaN.
func ToNumber(v any) float64 {
	switch x := v.(type) {
	case nil:
		return 0
	case bool:
		if x {
			return 1
		}
		return 0
	case float64:
		return x
	case string:
		s := strings.TrimFunc(x, unicode.IsSpace)
		if s == "" {
			return 0
		}
		if f, ok := parseNumber(s); ok {
			return f
		}
		return math.NaN()
	default:
		return math.NaN()
	}
}

// ToString coerces v to a string as GitHub does: null → ”, booleans →
// 'true'/'false', numbers in GitHub's number format (see FormatNumber),
// arrays → 'Array', objects → 'Object'.
func ToString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case bool:
		if x {
			return "true"
		}
		return "false"
	case float64:
		return FormatNumber(x)
	case string:
		return x
	case []any, filtered:
		return "Array"
	case *Object:
		return "Object"
	default:
		return ""
	}
}

// FormatNumber renders a number the way GitHub's evaluator does: up to 15
// significant digits, no trailing zeros, -0 as 0, NaN, Infinity and
// -Infinity by name, and an E exponent outside the range 1E-05..1E+15.
func FormatNumber(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		return "0"
	}
	return strings.Replace(strconv.FormatFloat(f, 'g', 15, 64), "e", "E", 1)
}

// parseNumber parses the number syntax GitHub accepts in literals and
// string coercion: an optional sign, then decimal digits with optional
// fraction and exponent, or Infinity; or, unsigned, 0x hex or 0o octal.
func parseNumber(s string) (float64, bool) {
	if len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X' || s[1] == 'o' || s[1] == 'O') {
		base := 16
		if s[1] == 'o' || s[1] == 'O' {
			base = 8
		}
		var n float64
		for _, c := range s[2:] {
			d, ok := digitValue(c)
			if !ok || d >= base {
				return 0, false
			}
			n = n*float64(base) + float64(d)
		}
		return n, true
	}
	body := s
	neg := false
	if body != "" && (body[0] == '+' || body[0] == '-') {
		neg = body[0] == '-'
		body = body[1:]
	}
	if body == "Infinity" {
		if neg {
			return math.Inf(-1), true
		}
		return math.Inf(1), true
	}
	if !isDecimal(body) {
		return 0, false
	}
	f, err := strconv.ParseFloat(body, 64)
	if err != nil {
		// A range error still yields ±Inf or 0, like JavaScript.
		if ne, ok := err.(*strconv.NumError); !ok || ne.Err != strconv.ErrRange {
			return 0, false
		}
	}
	if neg {
		f = -f
	}
	return f, true
}

func digitValue(c rune) (int, bool) {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0'), true
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10, true
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10, true
	}
	return 0, false
}

// isDecimal checks digits [. digits] [e [+-] digits] with at least one
// mantissa digit.
func isDecimal(s string) bool {
	i, digits := 0, 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		exp := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			exp++
		}
		if exp == 0 {
			return false
		}
	}
	return i == len(s)
}

// foldCase upper-cases s the way GitHub's ordinal case-insensitive
// comparison does: simple Unicode upper-casing, except that the Turkish
// dotted capital I and dotless small i keep their identity.
func foldCase(s string) string {
	return strings.Map(func(r rune) rune {
		if r == 'İ' || r == 'ı' {
			return r
		}
		return unicode.ToUpper(r)
	}, s)
}

// sameRef reports whether two arrays or objects are the same instance.
func sameRef(a, b any) bool {
	switch x := a.(type) {
	case *Object:
		y, ok := b.(*Object)
		return ok && x == y
	case []any, filtered:
		xa, _ := asArray(a)
		ya, ok := asArray(b)
		if !ok || len(xa) != len(ya) || cap(xa) != cap(ya) {
			return false
		}
		return reflect.ValueOf(xa).Pointer() == reflect.ValueOf(ya).Pointer()
	}
	return false
}

func isPrimitive(v any) bool {
	switch v.(type) {
	case nil, bool, float64, string:
		return true
	}
	return false
}

// LooseEqual is GitHub's `==`: values of the same kind compare directly
// (strings case-insensitively, arrays and objects by identity, null equals
// null); values of different kinds are coerced to numbers, so null == 0,
// ” == 0, '0' == null and true == 1 hold, while NaN equals nothing.
func LooseEqual(a, b any) bool {
	ka, kb := Kind(a), Kind(b)
	if ka == kb {
		switch x := a.(type) {
		case nil:
			return true
		case bool:
			return x == b.(bool)
		case float64:
			return x == b.(float64)
		case string:
			return foldCase(x) == foldCase(b.(string))
		default:
			return sameRef(a, b)
		}
	}
	if !isPrimitive(a) || !isPrimitive(b) {
		return false
	}
	return ToNumber(a) == ToNumber(b)
}

// compare orders a and b for < <= > >=. ok is false when the values are
// not ordered (NaN, arrays, objects); otherwise c is -1, 0 or 1.
func compare(a, b any) (c int, ok bool) {
	if !isPrimitive(a) || !isPrimitive(b) {
		return 0, false
	}
	if sa, isStr := a.(string); isStr {
		if sb, isStr := b.(string); isStr {
			return strings.Compare(foldCase(sa), foldCase(sb)), true
		}
	}
	x, y := ToNumber(a), ToNumber(b)
	switch {
	case math.IsNaN(x) || math.IsNaN(y):
		return 0, false
	case x < y:
		return -1, true
	case x > y:
		return 1, true
	}
	return 0, true
}
