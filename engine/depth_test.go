package engine

import (
	"strings"
	"testing"

	"go.starlark.net/starlark"
)

func TestCheckValueDepth(t *testing.T) {
	nest := func(n int) starlark.Value {
		var v starlark.Value = starlark.NewList(nil)
		for range n {
			v = starlark.Tuple{v}
		}
		return v
	}
	shared := starlark.Value(starlark.NewList(nil))
	for range 40 {
		shared = starlark.NewList([]starlark.Value{shared, shared})
	}
	for _, tc := range []struct {
		name string
		v    starlark.Value
		want string
	}{
		{"flat", starlark.NewList([]starlark.Value{starlark.MakeInt(1)}), ""},
		{"at the limit", nest(MaxValueDepth), ""},
		{"one past", nest(MaxValueDepth + 1), "nested deeper"},
		{"very deep", nest(1 << 20), "nested deeper"},
		{"shared halves", shared, "more than"},
	} {
		err := CheckValueDepth(tc.v, "v")
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestCheckJSONDepth(t *testing.T) {
	for _, tc := range []struct {
		s  string
		ok bool
	}{
		{`{"a": [1, 2, {"b": "[[[[["}]}`, true},
		{strings.Repeat("[", MaxValueDepth) + strings.Repeat("]", MaxValueDepth), true},
		{strings.Repeat("[", MaxValueDepth+1), false},
		{`"\"` + strings.Repeat("[", 500) + `"`, true},
		{strings.Repeat(`{"a":`, 200), false},
	} {
		if err := checkJSONDepth(tc.s); (err == nil) != tc.ok {
			t.Errorf("%.40q: %v", tc.s, err)
		}
	}
}
