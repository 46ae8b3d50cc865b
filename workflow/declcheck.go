package workflow

import (
	"fmt"
	"sort"
	"strings"

	"go.starlark.net/starlark"
)

// jobFields are the keyword arguments declare("workflow_job", ...) takes.
var jobFields = map[string]bool{
	"id": true, "name": true, "needs": true, "if_": true, "if": true,
	"runs_on": true, "runs-on": true, "timeout_minutes": true, "timeout-minutes": true,
	"concurrency": true, "env": true, "steps": true, "permissions": true,
	"default_branch": true, "opt_in_label": true,
}

// CheckDeclaration checks one declaration of a kind the workflow tools
// read ("workflow_job") while the recipe is evaluated, so that a field of
// the wrong type or an unknown field fails `plan`, not `workflow render`
// later. The error says which field and what it wants; nil for other
// kinds and for a good declaration.
func CheckDeclaration(kind string, fields *starlark.Dict) error {
	if kind != "workflow_job" {
		return nil
	}
	var unknown []string
	for _, k := range fields.Keys() {
		name, _ := starlark.AsString(k)
		if !jobFields[name] {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		known := make([]string, 0, len(jobFields))
		for k := range jobFields {
			if !strings.Contains(k, "-") && k != "if" {
				known = append(known, k)
			}
		}
		sort.Strings(known)
		return fmt.Errorf("unknown field %s (a workflow_job takes %s)", strings.Join(quoteAll(unknown), ", "), strings.Join(known, ", "))
	}
	r := fieldReader{d: Declaration{Kind: kind, Fields: fields}}
	r.job()
	if r.err != nil {
		// fieldReader says ": workflow_job(FIELD): MESSAGE" without a
		// position; the caller adds the declare call's.
		msg := strings.TrimPrefix(r.err.Error(), ": "+kind+"(")
		return fmt.Errorf("%s", strings.Replace(msg, "): ", ": ", 1))
	}
	return nil
}

func quoteAll(in []string) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}
