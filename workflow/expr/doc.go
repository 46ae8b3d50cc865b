// Package expr parses and evaluates GitHub Actions expressions (the
// language inside ${{ }}) with GitHub's own semantics, for `hvfctl
// workflow audit`.
//
// Values are plain Go values: nil (null), bool, float64, string, []any
// (array) and *Object (an ordered map with case-insensitive keys).
// Normalize converts other Go values (map[string]any, ints) into these.
//
// Semantics follow GitHub's evaluator and pass its published known-answer
// tests (testdata/github): loose equality with numeric coercion and
// case-insensitive strings, && and || returning an operand, property
// access that yields null when missing, `*` filters, GitHub's number and
// toJSON formats, and the functions contains, startsWith, endsWith,
// format, join, toJSON, fromJSON, hashFiles, case and the status functions.
//
// The lexer and parser are this package's own rather than actionlint's:
// actionlint's expression parser makes comparison operators
// right-associative at one precedence level (so `3 < 2 < 1` is false
// instead of true), rejects number forms GitHub accepts (.5, +1, 1E+1,
// 0o17, NaN, Infinity, -Infinity) and 64-bit integers, and has no depth
// limit; the known-answer tests require all of these.
//
// For the audit, Trace returns every evaluated sub-expression with its
// value, References lists the context paths read together with the
// literals they are compared with, and SplitFences/ParseIf implement the
// ${{ }} rules of if: conditions.
package expr
