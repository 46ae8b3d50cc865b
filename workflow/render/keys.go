package render

import (
	"strconv"
	"strings"

	"github.com/sysprog21/hvfctl/workflow"
)

// foldWidth is the longest if: line written on one line; a longer guard
// is folded after its && and || operators.
const foldWidth = 100

// securityKeys are the job keys render sets on a job the maintainers
// already have: the recipe's word on security and placement. Everything
// else in such a job (name, needs, strategy, steps, other env variables,
// comments) is theirs and kept. The order is the one a new key is
// inserted in.
var securityKeys = []string{"if", "runs-on", "timeout-minutes", "permissions", "concurrency"}

// jobKeyOrder is the order renderJob writes a job's keys in, and the
// order a missing key is inserted in among existing ones.
var jobKeyOrder = []string{"name", "needs", "if", "runs-on", "timeout-minutes", "permissions", "concurrency", "env", "steps"}

// pad returns n spaces.
func pad(n int) string { return strings.Repeat(" ", n) }

// ifLines writes key (with its anchor, "if: &a", when one is kept) and
// the guard at column col: on one line when it fits in foldWidth
// columns, else as a folded block scalar (>-) with one line per && or ||
// operand, every line at the same indentation so that YAML joins them
// back with single spaces into exactly the one-line expression.
func ifLines(col, unit int, key, expr string) []string {
	e := normalizeExpr(expr)
	single := pad(col) + key + " " + scalar(e)
	if len(single) <= foldWidth {
		return []string{single}
	}
	parts := foldParts(e)
	if len(parts) < 2 {
		return []string{single}
	}
	out := []string{pad(col) + key + " >-"}
	for _, p := range parts {
		out = append(out, pad(col+unit)+p)
	}
	return out
}

// foldParts splits a one-line expression after each && and || outside
// string literals that is followed by exactly one space and then a
// character that is not a space (so that folding the lines back with one
// space gives the expression byte for byte). A part never starts with a
// space or ends with one.
func foldParts(e string) []string {
	var parts []string
	inStr := false
	start := 0
	for i := 0; i+3 < len(e); i++ {
		c := e[i]
		if c == '\'' {
			inStr = !inStr
			continue
		}
		if inStr || (e[i:i+2] != "&&" && e[i:i+2] != "||") {
			continue
		}
		if e[i+2] != ' ' || e[i+3] == ' ' || e[i+3] == '\t' {
			continue
		}
		parts = append(parts, e[start:i+2])
		start = i + 3
		i += 2
	}
	if start == 0 {
		return nil
	}
	return append(parts, e[start:])
}

// boolValue reports whether v is a YAML boolean render writes unquoted
// (true, false), and which.
func boolValue(v string) (bool, bool) {
	switch v {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// kvLine writes one key: value pair of an env:, with: or permissions:
// mapping; true and false are written as YAML booleans.
func kvLine(kv workflow.KV) string {
	if _, ok := boolValue(kv.Value); ok {
		return scalar(kv.Key) + ": " + kv.Value
	}
	return scalar(kv.Key) + ": " + scalar(kv.Value)
}

// kvValue is what a decoder reads kvLine's value back as.
func kvValue(v string) any {
	if b, ok := boolValue(v); ok {
		return b
	}
	return v
}

// keyLines writes one of the job keys the recipe declares about security
// and placement (securityKeys) at column col, nested mappings one unit
// deeper; nil when the recipe leaves the key out. key is the key as
// written, possibly with an anchor ("runs-on: &mac").
func keyLines(j *workflow.JobSpec, k string, col, unit int, key string) []string {
	switch k {
	case "if":
		if j.If == "" {
			return nil
		}
		return ifLines(col, unit, key, j.If)
	case "runs-on":
		if len(j.RunsOn) == 0 {
			return nil
		}
		return []string{pad(col) + key + " " + flow(j.RunsOn)}
	case "timeout-minutes":
		if j.TimeoutMinutes <= 0 {
			return nil
		}
		return []string{pad(col) + key + " " + strconv.Itoa(j.TimeoutMinutes)}
	case "permissions":
		out := []string{pad(col) + key}
		for _, kv := range j.JobPermissions() {
			out = append(out, pad(col+unit)+kvLine(kv))
		}
		return out
	case "concurrency":
		if j.Concurrency == nil {
			return nil
		}
		return concurrencyLines(col, unit, key, j.Concurrency.Group, j.Concurrency.CancelInProgress)
	}
	return nil
}

// concurrencyLines writes a concurrency block.
func concurrencyLines(col, unit int, key, group, cancel string) []string {
	out := []string{pad(col) + key, pad(col+unit) + "group: " + scalar(group)}
	if cancel != "" {
		v := cancel
		if _, ok := boolValue(v); !ok {
			v = scalar(v)
		}
		out = append(out, pad(col+unit)+"cancel-in-progress: "+v)
	}
	return out
}

// keyValue is what a decoder reads keyLines' value back as; nil and
// false when the recipe leaves the key out.
func keyValue(j *workflow.JobSpec, k string) (any, bool) {
	switch k {
	case "if":
		return normalizeExpr(j.If), j.If != ""
	case "runs-on":
		return strs(j.RunsOn), len(j.RunsOn) > 0
	case "timeout-minutes":
		return j.TimeoutMinutes, j.TimeoutMinutes > 0
	case "permissions":
		return kvs(j.JobPermissions()), true
	case "concurrency":
		if j.Concurrency == nil {
			return nil, false
		}
		return concurrencyValue(j.Concurrency.Group, j.Concurrency.CancelInProgress), true
	}
	return nil, false
}

// concurrencyValue is what concurrencyLines reads back as.
func concurrencyValue(group, cancel string) map[string]any {
	cm := map[string]any{"group": group}
	if cancel != "" {
		cm["cancel-in-progress"] = kvValue(cancel)
	}
	return cm
}
