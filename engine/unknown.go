package engine

import (
	"fmt"

	"go.starlark.net/starlark"
)

// Unknown is a current value that cannot be read (no Full Disk Access,
// an unparseable reply, a tool that is absent). Queries return it instead
// of guessing; the plan shows it as "verify manually". The predeclared
// unknown(reason) builds the same value.
type Unknown struct {
	// Reason says why the value cannot be known.
	Reason string
}

// NewUnknown returns an Unknown with the given reason.
func NewUnknown(reason string) *Unknown { return &Unknown{Reason: reason} }

// String implements starlark.Value.
func (u *Unknown) String() string { return fmt.Sprintf("unknown(%q)", u.Reason) }

// Type implements starlark.Value.
func (u *Unknown) Type() string { return "unknown" }

// Freeze implements starlark.Value.
func (u *Unknown) Freeze() {}

// Truth implements starlark.Value; an unknown value is falsy so that
// `if value:` never treats it as a confirmed state.
func (u *Unknown) Truth() starlark.Bool { return starlark.False }

// Hash implements starlark.Value.
func (u *Unknown) Hash() (uint32, error) { return starlark.String(u.Reason).Hash() }

// AttrNames implements starlark.HasAttrs.
func (u *Unknown) AttrNames() []string { return []string{"reason"} }

// Attr implements starlark.HasAttrs.
func (u *Unknown) Attr(name string) (starlark.Value, error) {
	if name == "reason" {
		return starlark.String(u.Reason), nil
	}
	return nil, nil
}
