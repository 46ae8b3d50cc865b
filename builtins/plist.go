package builtins

import (
	"bytes"
	"fmt"

	"go.starlark.net/starlark"
	"howett.net/plist"

	"github.com/sysprog21/hvfctl/engine"
)

// plistMaxDepth bounds nesting when converting values.
const plistMaxDepth = 64

// ToPlistValue converts a Starlark value into a Go value howett.net/plist
// encodes: dict (string keys) → dict, list/tuple → array, str, int, float,
// bool. Anything else is an error.
func ToPlistValue(v starlark.Value) (any, error) { return toPlist(v, 0) }

func toPlist(v starlark.Value, depth int) (any, error) {
	if depth > plistMaxDepth {
		return nil, fmt.Errorf("plist value nested deeper than %d", plistMaxDepth)
	}
	switch x := v.(type) {
	case starlark.String:
		return string(x), nil
	case starlark.Bool:
		return bool(x), nil
	case starlark.Int:
		n, ok := x.Int64()
		if !ok {
			return nil, fmt.Errorf("plist integer %s out of range", x)
		}
		return n, nil
	case starlark.Float:
		return float64(x), nil
	case *starlark.Dict:
		m := make(map[string]any, x.Len())
		for _, item := range x.Items() {
			k, ok := starlark.AsString(item[0])
			if !ok {
				return nil, fmt.Errorf("plist dict keys must be strings, not %s", item[0].Type())
			}
			val, err := toPlist(item[1], depth+1)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			m[k] = val
		}
		return m, nil
	case *starlark.List, starlark.Tuple:
		seq := x.(starlark.Indexable)
		out := make([]any, seq.Len())
		for i := 0; i < seq.Len(); i++ {
			val, err := toPlist(seq.Index(i), depth+1)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			out[i] = val
		}
		return out, nil
	}
	return nil, fmt.Errorf("cannot put a %s in a plist", v.Type())
}

// FromPlistValue converts a decoded plist value into Starlark.
func FromPlistValue(v any) (starlark.Value, error) { return fromPlist(v, 0) }

func fromPlist(v any, depth int) (starlark.Value, error) {
	if depth > plistMaxDepth {
		return nil, fmt.Errorf("plist nested deeper than %d", plistMaxDepth)
	}
	switch x := v.(type) {
	case string:
		return starlark.String(x), nil
	case bool:
		return starlark.Bool(x), nil
	case uint64:
		return starlark.MakeUint64(x), nil
	case int64:
		return starlark.MakeInt64(x), nil
	case float64:
		return starlark.Float(x), nil
	case []byte:
		return starlark.Bytes(x), nil
	case map[string]any:
		d := starlark.NewDict(len(x))
		for _, k := range sortedKeys(x) {
			val, err := fromPlist(x[k], depth+1)
			if err != nil {
				return nil, err
			}
			_ = d.SetKey(starlark.String(k), val)
		}
		return d, nil
	case []any:
		l := make([]starlark.Value, len(x))
		for i, e := range x {
			val, err := fromPlist(e, depth+1)
			if err != nil {
				return nil, err
			}
			l[i] = val
		}
		return starlark.NewList(l), nil
	case nil:
		return starlark.None, nil
	}
	return starlark.String(fmt.Sprint(v)), nil
}

// EncodePlist renders a value as an XML property list.
func EncodePlist(v any) (string, error) {
	var buf bytes.Buffer
	enc := plist.NewEncoderForFormat(&buf, plist.XMLFormat)
	enc.Indent("\t")
	if err := enc.Encode(v); err != nil {
		return "", fmt.Errorf("encoding plist: %w", err)
	}
	buf.WriteByte('\n')
	return buf.String(), nil
}

// DecodePlist parses a property list in any format.
func DecodePlist(data []byte) (v any, err error) {
	defer func() {
		// The decoder reports some malformed input by panicking; turn that
		// into an error so that no input can crash hvfctl.
		if r := recover(); r != nil {
			v, err = nil, fmt.Errorf("decoding plist: %v", r)
		}
	}()
	if _, err := plist.Unmarshal(data, &v); err != nil {
		return nil, fmt.Errorf("decoding plist: %w", err)
	}
	return v, nil
}

func plistModule() engine.Module {
	return engine.Module{
		Name: "plist",
		Doc:  "Property lists, rendered and parsed with howett.net/plist (never by string concatenation).",
		Builtins: []engine.Builtin{
			newBuiltin("plist", "encode", "value", engine.KindUtil, `
Returns VALUE (a dict of str, int, float, bool, list and dict values)
rendered as an XML property list string with sorted keys. Runs nothing.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					var v starlark.Value
					if err := c.unpack(args, kwargs, "value", &v); err != nil {
						return nil, err
					}
					if _, ok := v.(*starlark.Dict); !ok {
						return nil, c.argError("value must be a dict, not %s", v.Type())
					}
					g, err := ToPlistValue(v)
					if err != nil {
						return nil, c.wrap(err)
					}
					s, err := EncodePlist(g)
					if err != nil {
						return nil, c.wrap(err)
					}
					return starlark.String(s), nil
				}),
			newBuiltin("plist", "decode", "text, or_none=False", engine.KindUtil, `
Parses TEXT (an XML, binary or OpenStep property list) and returns its
value (a dict for a launchd plist). Runs nothing. Text that is not a
property list is an error, or None with or_none (for a file whose bytes
are compared anyway).`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					var text string
					orNone := false
					if err := c.unpack(args, kwargs, "text", &text, "or_none?", &orNone); err != nil {
						return nil, err
					}
					g, err := DecodePlist([]byte(text))
					if err == nil {
						var v starlark.Value
						if v, err = FromPlistValue(g); err == nil {
							return v, nil
						}
					}
					if orNone {
						return starlark.None, nil
					}
					return nil, c.wrap(err)
				}),
		},
	}
}
