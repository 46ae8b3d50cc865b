package expr

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// ToJSON renders v as GitHub's toJSON() does: indented by two spaces,
// objects in key order, numbers in GitHub's number format (see
// FormatNumber), strings escaped only where JSON requires it. An Unknown
// is written <unknown>, for people.
func ToJSON(v any) string {
	var b strings.Builder
	writeJSON(&b, plain(v), "")
	return b.String()
}

func writeJSON(b *strings.Builder, v any, indent string) {
	switch x := v.(type) {
	case Unknown:
		// Not JSON: toJSON() of an Unknown is an Unknown; this text
		// only shows one in a witness.
		b.WriteString("<unknown>")
	case nil:
		b.WriteString("null")
	case bool, float64:
		b.WriteString(ToString(x))
	case string:
		writeJSONString(b, x)
	case []any, filtered:
		arr, _ := asArray(x)
		if len(arr) == 0 {
			b.WriteString("[]")
			return
		}
		inner := indent + "  "
		b.WriteString("[\n")
		for i, el := range arr {
			if i > 0 {
				b.WriteString(",\n")
			}
			b.WriteString(inner)
			writeJSON(b, el, inner)
		}
		b.WriteString("\n" + indent + "]")
	case *Object:
		if x.Len() == 0 {
			b.WriteString("{}")
			return
		}
		inner := indent + "  "
		b.WriteString("{\n")
		for i, k := range x.keys {
			if i > 0 {
				b.WriteString(",\n")
			}
			b.WriteString(inner)
			writeJSONString(b, k)
			b.WriteString(": ")
			writeJSON(b, x.vals[i], inner)
		}
		b.WriteString("\n" + indent + "}")
	default:
		b.WriteString("null")
	}
}

func writeJSONString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			if r < 0x20 {
				fmt.Fprintf(b, `\u%04x`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
}

// FromJSON parses JSON into expression values, keeping object key order
// (objects become *Object, numbers float64). Trailing data is an error.
func FromJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodeValue(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("unexpected data after the JSON value")
	}
	return v, nil
}

func decodeValue(dec *json.Decoder) (any, error) {
	t, err := dec.Token()
	if err == io.EOF {
		return nil, errors.New("empty JSON input")
	}
	if err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	switch x := t.(type) {
	case nil, bool, string:
		return x, nil
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil {
			return nil, fmt.Errorf("invalid JSON number %s: %w", x, err)
		}
		return f, nil
	case json.Delim:
		switch x {
		case '[':
			arr := make([]any, 0, 1)
			for dec.More() {
				el, err := decodeValue(dec)
				if err != nil {
					return nil, err
				}
				arr = append(arr, el)
			}
			if _, err := dec.Token(); err != nil {
				return nil, fmt.Errorf("invalid JSON array: %w", err)
			}
			return arr, nil
		case '{':
			obj := NewObject()
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, fmt.Errorf("invalid JSON object: %w", err)
				}
				k, ok := kt.(string)
				if !ok {
					return nil, fmt.Errorf("invalid JSON object key %v", kt)
				}
				el, err := decodeValue(dec)
				if err != nil {
					return nil, err
				}
				obj.Set(k, el)
			}
			if _, err := dec.Token(); err != nil {
				return nil, fmt.Errorf("invalid JSON object: %w", err)
			}
			return obj, nil
		}
	}
	return nil, fmt.Errorf("invalid JSON token %v", t)
}
