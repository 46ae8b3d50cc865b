package engine

import (
	"context"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
)

// Predeclared returns the engine's own builtins (resource, secret, var,
// args, the matchers …) for the generated reference. Their Fn fields are
// not bound to a run and must not be called.
func Predeclared() Module {
	return Module{
		Name:     "",
		Doc:      "Names every recipe, stdlib module and recipe test sees without a load().",
		Builtins: (&evaluator{}).engineBuiltins(),
	}
}

var secretNameRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

func (ev *evaluator) engineBuiltins() []Builtin {
	return []Builtin{
		{
			Name:   "resource",
			Params: "id, kind, want, check, fix=None, remediation=None, requires=[], doc=\"\", destroy=None, destroy_with_all=False",
			Kind:   KindDecl,
			Doc: "Declares a resource. `want` is a dict property → wanted value (or matcher). " +
				"`check()` returns a dict property → current value and may call queries only. " +
				"`fix(have, want)` returns the actions (an action, a list of them, nested lists or None) " +
				"that make the host match. Without `fix` the resource is an assertion and `remediation` " +
				"(what a person must do) is required. `requires` lists ids of resources declared earlier " +
				"that must hold first; when one of them fails, this resource is skipped. " +
				"`destroy(have)` returns the actions that remove what the resource created (`hvfctl destroy`, " +
				"which handles resources in reverse order); it returns nothing once nothing is left, which is " +
				"how destroy re-verifies itself. Without `destroy` (or with a string saying why) the resource is kept; with " +
				"`destroy_with_all = True` only `hvfctl destroy --all` removes it (the account, caches). " +
				"Problems with the call (unknown keywords, wrong types, duplicate ids) are collected and " +
				"reported together with file:line:col.",
			Fn: func(t *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
				return ev.declareResource(t, args, kwargs)
			},
		},
		{
			Name:   "allow_writes",
			Params: "*prefixes",
			Kind:   KindDecl,
			Doc: "Declares the absolute path prefixes under which actions may create, modify or remove files. " +
				"An entry with wildcards (`*`, `?`, `[...]`, only in its last element, after a literal start) " +
				"allows the single paths it matches, with path.Match rules (`*` never crosses a `/`): " +
				"`/Library/LaunchDaemons/actions.runner.OWNER-REPO.*.plist`. " +
				"Before anything runs, `hvfctl run` refuses the whole run when any planned action writes " +
				"outside them, naming the resource.",
			Fn: ev.allowWrites,
		},
		{
			Name:   "secret",
			Params: "name, doc=\"\"",
			Kind:   KindDecl,
			Doc: "Returns a secret supplied when an action that needs it runs: `runner_token` comes from " +
				"HVFCTL_RUNNER_TOKEN, `--token-file FILE` or a hidden prompt on a terminal; any other NAME " +
				"from HVFCTL_SECRET_<NAME>. Its str() and repr() are `<secret NAME>`; only action " +
				"constructors that pass it through stdin or the environment accept it, and its value is " +
				"scrubbed from every output. `plan` and `check` never ask for it.",
			Fn: ev.secret,
		},
		{
			Name:   "random_password",
			Params: "name, length=24",
			Kind:   KindDecl,
			Doc: "Returns a secret whose value is generated (letters and digits, from crypto/rand) the " +
				"first time an action needs it. It is never stored or shown.",
			Fn: ev.randomPassword,
		},
		{
			Name:   "var",
			Params: "name, default",
			Kind:   KindDecl,
			Doc: "Returns the recipe variable NAME (`--var NAME=VALUE`, or `vars = {...}` in recipe tests) " +
				"converted to the type of `default` (string, int, float, bool, or a list of strings split on " +
				"commas), or `default` when it is not set. A `--var` the recipe never reads is an error.",
			Fn: ev.variable,
		},
		{
			Name:   "declare",
			Params: "kind, **fields",
			Kind:   KindDecl,
			Doc: "Publishes facts about the recipe for other commands (`runner`, `workflow_job`, " +
				"`toolchain`, `brew`, `fixtures`). `declare(\"brew\", owner = NAME)` also makes NAME the " +
				"principal of Homebrew actions.",
			Fn: ev.declare,
		},
		{
			Name:   "principals",
			Params: "",
			Kind:   KindUtil,
			Doc: "Returns `struct(brew_owner, invoker)`: the administrator who owns Homebrew and runs every " +
				"brew action, and the person who ran hvfctl. On the Mac both are `SUDO_USER` (hvfctl runs " +
				"with sudo from the administrator's account); on a fake target, the fake's administrator " +
				"(`admin`). A name a recipe gave with `declare(\"brew\", owner = NAME)` replaces brew_owner " +
				"from then on. Either is None when nobody is known (hvfctl started by root itself, or a " +
				"recipe evaluated without a host, as `hvfctl workflow audit --recipe` does); stdlib " +
				"functions that need an owner then explain what to do instead of guessing.",
			Fn: ev.principals,
		},
		{
			Name:   "args",
			Params: "fn_name, kwargs, required={}, optional={}",
			Kind:   KindUtil,
			Doc: "Validates a stdlib function's `**kwargs`. `required` maps names to type names; " +
				"`optional` maps names to a type name (default None) or to a `(type, default)` pair. " +
				"Type names: `string`, `int`, `float`, `number`, `bool`, `list`, `dict`, `tuple`, " +
				"`function`, `secret`, `action`, `any`, `path` (absolute), `mode` (0 to 0o7777), " +
				"`sha256` (64 lower-case hex digits), `list[T]`, and alternatives joined by `|`. " +
				"Unknown names, missing required ones and wrong types are recorded at the caller's " +
				"position and reported all at once. Returns a struct with every name of the schema: the " +
				"value given, the default of a missing optional name (None without one), and None for a " +
				"missing required name or a value of the wrong type; its field `ok` (a reserved name) is " +
				"False when any argument was refused. A stdlib function then returns at once " +
				"(`if not a.ok: return None`), so that evaluation continues and the recipe's later errors " +
				"are reported in the same run.",
			Fn: ev.validateArgs,
		},
		{
			Name:   "at_least",
			Params: "n",
			Kind:   KindUtil,
			Doc:    "A wanted value matching any number ≥ n.",
			Fn: func(t *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
				var n starlark.Value
				if err := starlark.UnpackPositionalArgs(fn.Name(), args, kwargs, 1, &n); err != nil {
					return nil, err
				}
				return atLeast(n)
			},
		},
		{
			Name:   "version_at_least",
			Params: "version",
			Kind:   KindUtil,
			Doc:    "A wanted value matching any dotted version string ≥ version, compared numerically (\"15.10\" > \"15.9\"); a part relN in any case counts as N (Arm's \"14.3.rel1\").",
			Fn: func(t *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
				var v string
				if err := starlark.UnpackPositionalArgs(fn.Name(), args, kwargs, 1, &v); err != nil {
					return nil, err
				}
				return versionAtLeast(v)
			},
		},
		{
			Name:   "one_of",
			Params: "*values",
			Kind:   KindUtil,
			Doc:    "A wanted value matching any of the given values.",
			Fn: func(t *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
				if len(kwargs) > 0 {
					return nil, fmt.Errorf("%s: unexpected keyword arguments", fn.Name())
				}
				return oneOf(args)
			},
		},
		{
			Name:   "unknown",
			Params: "reason",
			Kind:   KindUtil,
			Doc: "A current value that cannot be read (for example TCC grants without Full Disk Access). " +
				"A resource whose only differences are unknown values is reported as \"verify manually\" " +
				"and does not make `check` fail.",
			Fn: func(t *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
				var reason string
				if err := starlark.UnpackPositionalArgs(fn.Name(), args, kwargs, 1, &reason); err != nil {
					return nil, err
				}
				return &Unknown{Reason: reason}, nil
			},
		},
		{Name: "struct", Params: "**fields", Kind: KindUtil, Doc: "Returns an immutable struct with the given fields (go.starlark.net starlarkstruct)."},
		{Name: "json", Params: "", Kind: KindUtil, Doc: "The json module: `json.encode(x)`, `json.decode(s)`, `json.indent(s)` (go.starlark.net lib/json)."},
		{Name: "fail", Params: "*args, sep=\" \"", Kind: KindUtil, Doc: "Stops evaluation with an error at the caller's position and its backtrace."},
		{Name: "print", Params: "*args, sep=\" \"", Kind: KindUtil, Doc: "Writes a line to the run's log (stderr for the CLI), with secrets scrubbed."},
	}
}

// callerOfCaller is the position of the call into the stdlib function
// that called a validation builtin, so errors point at the recipe line.
func callerOfCaller(t *starlark.Thread) starlark.CallFrame {
	if t.CallStackDepth() > 2 {
		return t.CallFrame(2)
	}
	if t.CallStackDepth() > 1 {
		return t.CallFrame(1)
	}
	return starlark.CallFrame{}
}

func (ev *evaluator) allowWrites(t *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(kwargs) > 0 {
		return nil, fmt.Errorf("%s: unexpected keyword arguments", fn.Name())
	}
	pos := CallerPos(t)
	for _, a := range args {
		s, ok := starlark.AsString(a)
		switch {
		case !ok:
			ev.sess.Errorf(pos, "allow_writes: want path strings, got %s", a.Type())
		case !path.IsAbs(s):
			ev.sess.Errorf(pos, "allow_writes: %q is not an absolute path", s)
		case normalize(s) == "/":
			ev.sess.Errorf(pos, "allow_writes: %q is \"/\" (or the data volume all of it lives on) and would allow writing anywhere; name the directories", s)
		case IsPattern(s) && badPattern(s) != "":
			ev.sess.Errorf(pos, "allow_writes: pattern %q: %s", s, badPattern(s))
		default:
			ev.sess.AllowWrites(s)
		}
	}
	return starlark.None, nil
}

// badPattern says why an allow_writes pattern is refused, or "": it must
// be well-formed, and only its last element may hold wildcards, with a
// literal part before the first one and a literal directory of at least
// two components above it (so that "/Library/LaunchDaemons/*", "/*/x" or
// "/U*" cannot open a whole directory tree by accident), counted after
// the aliases macOS resolves are folded away (normalize).
func badPattern(p string) string {
	if _, err := path.Match(p, ""); err != nil {
		return "malformed pattern"
	}
	dir, base := path.Split(path.Clean(p))
	if IsPattern(dir) {
		return "only the last path element may hold wildcards"
	}
	// The directory is counted as macOS resolves it: /private/etc is
	// /etc, /System/Volumes/Data/Users is /Users (the firmlinked data
	// volume), whatever the case, so "/private/etc/s*" is "/etc/s*".
	if canon := normalize(dir); canon == "/" || len(strings.Split(strings.Trim(canon, "/"), "/")) < 2 {
		return "a pattern needs a literal directory of at least two path components before its wildcard (like /Library/LaunchDaemons/NAME*.plist), or it opens whole trees such as /Users"
	}
	if i := strings.IndexAny(base, "*?["); i == 0 {
		return "the last element must start with a literal name, not a wildcard"
	}
	return ""
}

func (ev *evaluator) secret(t *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name, doc string
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "name", &name, "doc?", &doc); err != nil {
		return nil, err
	}
	if !secretNameRE.MatchString(name) {
		return nil, fmt.Errorf("secret: name %q must be lower-case letters, digits and _", name)
	}
	if s, ok := ev.secrets[name]; ok {
		return s, nil
	}
	s := NewSecret(name, nil)
	s.doc = doc
	ev.secrets[name] = s
	return s, nil
}

func (ev *evaluator) randomPassword(t *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name string
	length := 24
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "name", &name, "length?", &length); err != nil {
		return nil, err
	}
	if !secretNameRE.MatchString(name) {
		return nil, fmt.Errorf("random_password: name %q must be lower-case letters, digits and _", name)
	}
	if length < 16 || length > 128 {
		return nil, fmt.Errorf("random_password: length %d out of range 16..128", length)
	}
	if s, ok := ev.secrets[name]; ok {
		return s, nil
	}
	rnd := ev.opts.Rand
	s := NewSecret(name, func(context.Context) (string, error) { return randomPassword(rnd, length) })
	ev.secrets[name] = s
	return s, nil
}

func (ev *evaluator) variable(t *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name string
	var def starlark.Value
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "name", &name, "default", &def); err != nil {
		return nil, err
	}
	ev.usedVars[name] = true
	raw, ok := ev.sess.Var(name)
	if !ok {
		return def, nil
	}
	v, err := convertVar(raw, def)
	if err != nil {
		ev.sess.Errorf(CallerPos(t), "var %s: %v", name, err)
		return def, nil
	}
	return v, nil
}

// convertVar converts a --var string to the type of def.
func convertVar(raw string, def starlark.Value) (starlark.Value, error) {
	switch def.(type) {
	case starlark.String, starlark.NoneType:
		return starlark.String(raw), nil
	case starlark.Int:
		n, err := strconv.ParseInt(strings.TrimSpace(raw), 0, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not an integer", raw)
		}
		return starlark.MakeInt64(n), nil
	case starlark.Float:
		f, err := strconv.ParseFloat(strings.TrimSpace(raw), 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", raw)
		}
		return starlark.Float(f), nil
	case starlark.Bool:
		switch strings.ToLower(strings.TrimSpace(raw)) {
		case "true", "yes", "1", "on":
			return starlark.True, nil
		case "false", "no", "0", "off":
			return starlark.False, nil
		}
		return nil, fmt.Errorf("%q is not a boolean (true or false)", raw)
	case *starlark.List, starlark.Tuple:
		var items []starlark.Value
		for _, p := range strings.Split(raw, ",") {
			if p = strings.TrimSpace(p); p != "" {
				items = append(items, starlark.String(p))
			}
		}
		return starlark.NewList(items), nil
	}
	return nil, fmt.Errorf("cannot set a variable whose default is a %s", def.Type())
}

func (ev *evaluator) declare(t *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var kind string
	if err := starlark.UnpackPositionalArgs(fn.Name(), args, nil, 1, &kind); err != nil {
		return nil, err
	}
	if kind == "" {
		return nil, fmt.Errorf("declare: kind must not be empty")
	}
	fields := starlark.NewDict(len(kwargs))
	for _, kv := range kwargs {
		if err := fields.SetKey(kv[0], kv[1]); err != nil {
			return nil, fmt.Errorf("declare: %w", err)
		}
	}
	fields.Freeze()
	if kind == "brew" {
		if v, found, _ := fields.Get(starlark.String("owner")); found && v != starlark.None {
			owner, ok := starlark.AsString(v)
			switch {
			case !ok:
				ev.sess.Errorf(CallerPos(t), "declare(\"brew\"): owner: want an account name, got %s", v.Type())
			case strings.EqualFold(owner, "root"):
				ev.sess.Errorf(CallerPos(t), "declare(\"brew\"): owner root refused: Homebrew never runs as root; name the administrator who owns it")
			case owner != "":
				p := ev.sess.Principals()
				p.BrewOwner = owner
				ev.sess.SetPrincipals(p)
			}
		}
	}
	if ev.opts.CheckDeclaration != nil {
		if err := ev.opts.CheckDeclaration(kind, fields); err != nil {
			ev.sess.Errorf(CallerPos(t), "declare(%q): %v", kind, err)
			return starlark.None, nil
		}
	}
	ev.sess.Declare(Declaration{Kind: kind, Pos: CallerPos(t), Fields: fields})
	return starlark.None, nil
}

func (ev *evaluator) principals(t *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackPositionalArgs(fn.Name(), args, kwargs, 0); err != nil {
		return nil, err
	}
	p := ev.sess.Principals()
	name := func(s string) starlark.Value {
		if s == "" {
			return starlark.None
		}
		return starlark.String(s)
	}
	return starlarkstruct.FromStringDict(starlarkstruct.Default, starlark.StringDict{
		"brew_owner": name(p.BrewOwner),
		"invoker":    name(p.Invoker),
	}), nil
}

func (ev *evaluator) validateArgs(t *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var fnName string
	var given, required, optional *starlark.Dict
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "fn_name", &fnName, "kwargs", &given, "required?", &required, "optional?", &optional); err != nil {
		return nil, err
	}
	pos := callerOfCaller(t).Pos
	out := starlark.StringDict{}
	type param struct {
		spec string
		def  starlark.Value
	}
	params := map[string]param{}
	var names []string
	schemaErr := func(format string, a ...any) error {
		return fmt.Errorf("args(%q): "+format, append([]any{fnName}, a...)...)
	}
	if required != nil {
		for _, item := range required.Items() {
			k, ok1 := starlark.AsString(item[0])
			spec, ok2 := starlark.AsString(item[1])
			if !ok1 || !ok2 {
				return nil, schemaErr("required maps names to type names")
			}
			if err := checkSpec(spec); err != nil {
				return nil, schemaErr("%s: %v", k, err)
			}
			params[k] = param{spec: spec}
			names = append(names, k)
		}
	}
	if optional != nil {
		for _, item := range optional.Items() {
			k, ok := starlark.AsString(item[0])
			if !ok {
				return nil, schemaErr("optional maps names to type names")
			}
			p := param{def: starlark.None}
			switch v := item[1].(type) {
			case starlark.String:
				p.spec = string(v)
			case starlark.Tuple:
				if len(v) != 2 {
					return nil, schemaErr("%s: want (type, default)", k)
				}
				s, ok := starlark.AsString(v[0])
				if !ok {
					return nil, schemaErr("%s: want (type, default)", k)
				}
				p.spec, p.def = s, v[1]
			default:
				return nil, schemaErr("%s: want a type name or (type, default)", k)
			}
			if err := checkSpec(p.spec); err != nil {
				return nil, schemaErr("%s: %v", k, err)
			}
			if _, dup := params[k]; dup {
				return nil, schemaErr("%s is both required and optional", k)
			}
			params[k] = p
			names = append(names, k)
		}
	}
	if _, clash := params[argsOK]; clash {
		return nil, schemaErr("%q is reserved (the struct's own field: were the arguments valid)", argsOK)
	}
	sort.Strings(names)
	valid := true
	for _, item := range given.Items() {
		k, _ := starlark.AsString(item[0])
		p, known := params[k]
		if !known {
			ev.sess.Errorf(pos, "%s: unknown keyword argument %q (want one of %s)", fnName, k, strings.Join(names, ", "))
			valid = false
			continue
		}
		if msg := typeMismatch(p.spec, item[1]); msg != "" {
			ev.sess.Errorf(pos, "%s: %s: %s", fnName, k, msg)
			out[k] = starlark.None
			valid = false
			continue
		}
		out[k] = item[1]
	}
	for _, k := range names {
		if _, set := out[k]; set {
			continue
		}
		p := params[k]
		if p.def == nil {
			ev.sess.Errorf(pos, "%s: missing required argument %q", fnName, k)
			out[k] = starlark.None
			valid = false
			continue
		}
		out[k] = p.def
	}
	out[argsOK] = starlark.Bool(valid)
	if !valid {
		ev.sess.NoteRefusal()
	}
	return starlarkstruct.FromStringDict(starlarkstruct.Default, out), nil
}

// argsOK is the field of an args() struct that says whether every
// argument was valid. A stdlib function returns early when it is False:
// the errors are already recorded, and evaluation goes on to report the
// recipe's other errors in the same run.
const argsOK = "ok"

var knownTypes = map[string]bool{
	"string": true, "int": true, "float": true, "number": true, "bool": true,
	"list": true, "dict": true, "tuple": true, "function": true, "secret": true,
	"action": true, "any": true, "path": true, "mode": true, "sha256": true, "none": true,
}

func checkSpec(spec string) error {
	for _, alt := range strings.Split(spec, "|") {
		alt = strings.TrimSpace(alt)
		if inner, ok := strings.CutPrefix(alt, "list["); ok && strings.HasSuffix(inner, "]") {
			if err := checkSpec(strings.TrimSuffix(inner, "]")); err != nil {
				return err
			}
			continue
		}
		if !knownTypes[alt] {
			return fmt.Errorf("unknown type name %q", alt)
		}
	}
	return nil
}

var sha256RE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// typeMismatch returns "" when v fits spec, else why not.
func typeMismatch(spec string, v starlark.Value) string {
	var reasons []string
	for _, alt := range strings.Split(spec, "|") {
		msg := typeMismatchOne(strings.TrimSpace(alt), v)
		if msg == "" {
			return ""
		}
		reasons = append(reasons, msg)
	}
	if len(reasons) == 1 {
		return reasons[0]
	}
	return fmt.Sprintf("want %s, got %s", spec, v.Type())
}

func typeMismatchOne(spec string, v starlark.Value) string {
	want := func() string { return fmt.Sprintf("want %s, got %s", spec, v.Type()) }
	if inner, ok := strings.CutPrefix(spec, "list["); ok {
		inner = strings.TrimSuffix(inner, "]")
		l, ok := v.(*starlark.List)
		if !ok {
			return want()
		}
		for i := 0; i < l.Len(); i++ {
			if msg := typeMismatch(inner, l.Index(i)); msg != "" {
				return fmt.Sprintf("element %d: %s", i, msg)
			}
		}
		return ""
	}
	switch spec {
	case "any":
		return ""
	case "none":
		if v != starlark.None {
			return want()
		}
	case "string":
		if _, ok := v.(starlark.String); !ok {
			return want()
		}
	case "int":
		if _, ok := v.(starlark.Int); !ok {
			return want()
		}
	case "float":
		if _, ok := v.(starlark.Float); !ok {
			return want()
		}
	case "number":
		switch v.(type) {
		case starlark.Int, starlark.Float:
		default:
			return want()
		}
	case "bool":
		if _, ok := v.(starlark.Bool); !ok {
			return want()
		}
	case "list":
		if _, ok := v.(*starlark.List); !ok {
			return want()
		}
	case "dict":
		if _, ok := v.(*starlark.Dict); !ok {
			return want()
		}
	case "tuple":
		if _, ok := v.(starlark.Tuple); !ok {
			return want()
		}
	case "function":
		if _, ok := v.(starlark.Callable); !ok {
			return want()
		}
	case "secret":
		if _, ok := v.(*Secret); !ok {
			return want()
		}
	case "action":
		if _, ok := v.(*Action); !ok {
			return want()
		}
	case "path":
		s, ok := v.(starlark.String)
		if !ok {
			return want()
		}
		if !path.IsAbs(string(s)) {
			return fmt.Sprintf("%s is not an absolute path", s)
		}
	case "mode":
		n, ok := v.(starlark.Int)
		if !ok {
			return want()
		}
		m, exact := n.Int64()
		if !exact || m < 0 || m > 0o7777 {
			return fmt.Sprintf("mode %s out of range 0..0o7777", n)
		}
	case "sha256":
		s, ok := v.(starlark.String)
		if !ok {
			return want()
		}
		if !sha256RE.MatchString(string(s)) {
			return fmt.Sprintf("malformed SHA-256 %s: want 64 lower-case hex digits", s)
		}
	default:
		return fmt.Sprintf("unknown type name %q", spec)
	}
	return ""
}
