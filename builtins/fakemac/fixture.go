package fakemac

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"github.com/sysprog21/hvfctl/builtins/host"
)

// New returns a fake Mac in the state of an embedded preset (see Presets).
func New(preset string) (*Mac, error) {
	st, err := presetState(preset)
	if err != nil {
		return nil, err
	}
	return &Mac{st: st}, nil
}

// maxFixtureBytes bounds a fixture file.
const maxFixtureBytes = 256 << 20

// Load reads a fixture: a JSON State, or a partial one with "base" naming
// a preset, merged over that preset with JSON merge-patch rules (objects
// merge key by key, null deletes a key, anything else replaces). Unknown
// keys are errors naming the key, the file and the line.
func Load(file string) (*Mac, error) {
	raw, err := host.ReadLocalFile(file, maxFixtureBytes)
	if err != nil {
		return nil, fmt.Errorf("load fake host: %w", err)
	}
	st, err := parseFixture(file, raw)
	if err != nil {
		return nil, err
	}
	return &Mac{st: st}, nil
}

// Save writes the whole state to file atomically (mode 0644, owned by the
// invoking user). Loading the file gives the same state.
func (m *Mac) Save(file string) error { return m.SaveScrubbed(file, nil) }

// SaveScrubbed is Save with the state's text passed through scrub first
// (the CLI removes the run's secrets with it); nil scrubs nothing.
func (m *Mac) SaveScrubbed(file string, scrub func(string) string) error {
	b, err := m.Snapshot()
	if err != nil {
		return err
	}
	if scrub != nil {
		b = []byte(scrub(string(b)))
	}
	dir := filepath.Dir(file)
	tmp, err := os.CreateTemp(dir, ".fakemac-*.json")
	if err != nil {
		return fmt.Errorf("save fake host %s: %w", file, err)
	}
	name := tmp.Name()
	defer os.Remove(name)
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("save fake host %s: %w", file, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("save fake host %s: %w", file, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("save fake host %s: %w", file, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save fake host %s: %w", file, err)
	}
	if err := os.Rename(name, file); err != nil {
		return fmt.Errorf("save fake host %s: %w", file, err)
	}
	return nil
}

var unknownField = regexp.MustCompile(`unknown field "([^"]*)"`)

// parseFixture decodes a fixture (see Load). file only labels errors.
func parseFixture(file string, raw []byte) (*State, error) {
	// A whole state (what --save writes) decodes strictly at once. A
	// fixture with "base" (which State has no key for) and every
	// mistake take the long way below, which merges the preset and names
	// the key and line of a mistake.
	var whole State
	strict := json.NewDecoder(bytes.NewReader(raw))
	strict.DisallowUnknownFields()
	if err := strict.Decode(&whole); err == nil {
		return finishState(file, &whole)
	}
	var top map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&top); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return nil, fmt.Errorf("%s:%d: invalid JSON: %w", file, lineAt(raw, syn.Offset), err)
		}
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) {
			return nil, fmt.Errorf("%s:%d: a fixture must be a JSON object", file, lineAt(raw, typ.Offset))
		}
		return nil, fmt.Errorf("%s: invalid JSON: %w", file, err)
	}
	merged := any(top)
	if b, ok := top["base"]; ok {
		name, ok := b.(string)
		if !ok {
			return nil, fmt.Errorf("%s:%d: \"base\" must be a preset name (one of %s)", file, keyLine(raw, "base"), strings.Join(Presets(), ", "))
		}
		baseMap, err := presetTree(name)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", file, keyLine(raw, "base"), err)
		}
		delete(top, "base")
		merged = mergePatch(baseMap, top)
	}
	b, err := json.Marshal(merged)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	var st State
	strict = json.NewDecoder(bytes.NewReader(b))
	strict.DisallowUnknownFields()
	if err := strict.Decode(&st); err != nil {
		if sm := unknownField.FindStringSubmatch(err.Error()); sm != nil {
			return nil, fmt.Errorf("%s:%d: unknown key %q in fake host fixture", file, keyLine(raw, sm[1]), sm[1])
		}
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) {
			key := typ.Field
			if i := strings.LastIndex(key, "."); i >= 0 {
				key = key[i+1:]
			}
			return nil, fmt.Errorf("%s:%d: key %q: %s value where %s is expected", file, keyLine(raw, key), typ.Field, typ.Value, typ.Type)
		}
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return finishState(file, &st)
}

// finishState normalizes and validates a decoded fixture.
func finishState(file string, st *State) (*State, error) {
	st.normalize()
	st.joinLinks()
	if err := st.validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return st, nil
}

// mergePatch applies RFC 7386 JSON merge-patch semantics.
func mergePatch(target, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	t, ok := target.(map[string]any)
	if !ok {
		t = map[string]any{}
	}
	for k, v := range p {
		if v == nil {
			delete(t, k)
			continue
		}
		t[k] = mergePatch(t[k], v)
	}
	return t
}

// lineAt converts a byte offset to a 1-based line number.
func lineAt(raw []byte, off int64) int {
	if off > int64(len(raw)) {
		off = int64(len(raw))
	}
	return bytes.Count(raw[:off], []byte("\n")) + 1
}

// keyLine finds the line of the first occurrence of "key": in raw (1 when
// absent, e.g. for keys coming from the base preset).
func keyLine(raw []byte, key string) int {
	re := regexp.MustCompile(`"` + regexp.QuoteMeta(key) + `"\s*:`)
	loc := re.FindIndex(raw)
	if loc == nil {
		return 1
	}
	return lineAt(raw, int64(loc[0]))
}

// normalize gives every table a value, so that a fixture that deletes
// one (merge-patch null) leaves an empty table rather than a nil map.
func (st *State) normalize() {
	if st.Sysctl == nil {
		st.Sysctl = map[string]string{}
	}
	if st.Users == nil {
		st.Users = map[string]*User{}
	}
	if st.Groups == nil {
		st.Groups = map[string]*Group{}
	}
	if st.Files == nil {
		st.Files = map[string]*Node{}
	}
	if st.Spotlight == nil {
		st.Spotlight = map[string]string{}
	}
	if st.Power.Sources == nil {
		st.Power.Sources = map[string]map[string]string{}
	}
	for src, s := range st.Power.Sources {
		if s == nil {
			st.Power.Sources[src] = map[string]string{}
		}
	}
	if st.CLT.Available == nil {
		st.CLT.Available = []string{}
	}
	if st.Receipts == nil {
		st.Receipts = map[string]*Receipt{}
	}
	if st.Brew.Formulae == nil {
		st.Brew.Formulae = map[string][]string{}
	}
	if st.Brew.Casks == nil {
		st.Brew.Casks = map[string][]string{}
	}
	if st.Launchd.Jobs == nil {
		st.Launchd.Jobs = map[string]*Job{}
	}
	for _, g := range st.Launchd.GUI {
		if g != nil && g.Jobs == nil {
			g.Jobs = map[string]*Job{}
		}
	}
	if st.Defaults == nil {
		st.Defaults = map[string]map[string]string{}
	}
	if st.ICloud == nil {
		st.ICloud = map[string]string{}
	}
	if st.URLs == nil {
		st.URLs = map[string]*URL{}
	}
	if st.Archives == nil {
		st.Archives = map[string][]TarEntry{}
	}
	if st.Packages == nil {
		st.Packages = map[string]*Package{}
	}
}

// validate checks invariants a hand-written fixture could break.
func (st *State) validate() error {
	if st.Files["/"] == nil || st.Files["/"].Type != TypeDir {
		return errors.New("files: the root directory \"/\" is missing")
	}
	for _, p := range sortedKeys(st.Files) {
		n := st.Files[p]
		if n == nil {
			return fmt.Errorf("files: %q is null", p)
		}
		if !strings.HasPrefix(p, "/") || (p != "/" && strings.HasSuffix(p, "/")) || filepath.Clean(p) != p {
			return fmt.Errorf("files: %q is not a clean absolute path", p)
		}
		switch n.Type {
		case TypeFile, TypeDir, TypeFIFO, TypeChar, TypeBlock, TypeSocket:
		case TypeSymlink:
			if n.Target == "" {
				return fmt.Errorf("files: symlink %q has no target", p)
			}
		default:
			return fmt.Errorf("files: %q has type %q (want file, dir, symlink, fifo, char, block or socket)", p, n.Type)
		}
		if n.Ino != 0 && n.Type == TypeDir {
			return fmt.Errorf("files: %q has an ino but is a directory: directories are not hard-linked", p)
		}
		if p != "/" {
			parent := st.Files[filepath.Dir(p)]
			if parent == nil || parent.Type != TypeDir {
				return fmt.Errorf("files: %q has no parent directory", p)
			}
		}
		if _, ok := st.Users[n.Owner]; !ok && !isNumber(n.Owner) {
			return fmt.Errorf("files: %q is owned by unknown user %q", p, n.Owner)
		}
		if _, ok := st.Groups[n.Group]; !ok && !isNumber(n.Group) {
			return fmt.Errorf("files: %q has unknown group %q", p, n.Group)
		}
		if _, err := (&Mac{st: st}).aces(n.ACL); err != nil {
			return fmt.Errorf("files: %q: %w", p, err)
		}
	}
	if _, ok := st.Users["root"]; !ok {
		return errors.New("users: root is missing")
	}
	for _, name := range sortedKeys(st.Users) {
		if st.Users[name] == nil {
			return fmt.Errorf("users: %q is null", name)
		}
	}
	for _, name := range sortedKeys(st.Groups) {
		if st.Groups[name] == nil {
			return fmt.Errorf("groups: %q is null", name)
		}
	}
	for _, id := range sortedKeys(st.Receipts) {
		if st.Receipts[id] == nil {
			return fmt.Errorf("receipts: %q is null", id)
		}
	}
	for _, l := range sortedKeys(st.Launchd.Jobs) {
		if st.Launchd.Jobs[l] == nil {
			return fmt.Errorf("launchd.jobs: %q is null", l)
		}
	}
	for _, u := range sortedKeys(st.Launchd.GUI) {
		g := st.Launchd.GUI[u]
		if g == nil {
			return fmt.Errorf("launchd.gui: %q is null (leave the user out when nobody is logged in at the console)", u)
		}
		if st.Users[u] == nil {
			return fmt.Errorf("launchd.gui: %q is not a user", u)
		}
		for _, l := range sortedKeys(g.Jobs) {
			if g.Jobs[l] == nil {
				return fmt.Errorf("launchd.gui.%s.jobs: %q is null", u, l)
			}
		}
	}
	for _, k := range sortedKeys(st.Packages) {
		if st.Packages[k] == nil {
			return fmt.Errorf("packages: %q is null", k)
		}
	}
	for i, f := range st.Faults {
		if len(f.ArgvPrefix) == 0 {
			return fmt.Errorf("faults[%d]: argv_prefix is empty", i)
		}
		if f.Nth < 0 {
			return fmt.Errorf("faults[%d]: nth must be at least 1", i)
		}
	}
	for i, r := range st.Responses {
		if len(r.Argv) == 0 {
			return fmt.Errorf("responses[%d]: argv is empty", i)
		}
	}
	for u, e := range st.URLs {
		if e == nil {
			return fmt.Errorf("urls: %q is null", u)
		}
		if e.Content == nil && (len(e.SHA256) != 64 || e.Size <= 0) {
			return fmt.Errorf("urls: %q needs content, or size and a 64-digit sha256", u)
		}
		if e.Archive != "" && st.Archives[e.Archive] == nil {
			return fmt.Errorf("urls: %q names unknown archive %q", u, e.Archive)
		}
		if e.Package != "" && st.Packages[e.Package] == nil {
			return fmt.Errorf("urls: %q names unknown package %q", u, e.Package)
		}
	}
	return nil
}

// Fixture returns a fixture that Load turns back into m's state: "base"
// naming the preset, then a JSON merge patch of what differs from it
// (keys sorted, one value per line), so that a generated preset reads as
// the list of what changed.
func (m *Mac) Fixture(base string) ([]byte, error) {
	fromTree, err := presetTree(base)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	to, err := stateTree(m.st)
	m.mu.Unlock()
	if err != nil {
		return nil, err
	}
	patch, _ := diffPatch(fromTree, to)
	body, ok := patch.(map[string]any)
	if !ok {
		body = map[string]any{}
	}
	body["base"] = base
	var buf bytes.Buffer
	if err := writeTree(&buf, body, "", true); err != nil {
		return nil, fmt.Errorf("encode fixture over %s: %w", base, err)
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}

// writeTree writes v as indented JSON with sorted keys ("base" first at
// the top), each object or array whose members are all scalars on one
// line: one file, job, user or receipt per line.
func writeTree(buf *bytes.Buffer, v any, indent string, top bool) error {
	if !top && flat(v) {
		return writeCompact(buf, v)
	}
	inner := indent + "  "
	switch x := v.(type) {
	case map[string]any:
		keys := sortedKeys(x)
		if top {
			if _, ok := x["base"]; ok {
				keys = append([]string{"base"}, slices.DeleteFunc(keys, func(k string) bool { return k == "base" })...)
			}
		}
		buf.WriteString("{\n")
		for i, k := range keys {
			buf.WriteString(inner)
			if err := writeCompact(buf, k); err != nil {
				return err
			}
			buf.WriteString(": ")
			if err := writeTree(buf, x[k], inner, false); err != nil {
				return err
			}
			if i < len(keys)-1 {
				buf.WriteByte(',')
			}
			buf.WriteByte('\n')
		}
		buf.WriteString(indent + "}")
	case []any:
		buf.WriteString("[\n")
		for i, e := range x {
			buf.WriteString(inner)
			if err := writeTree(buf, e, inner, false); err != nil {
				return err
			}
			if i < len(x)-1 {
				buf.WriteByte(',')
			}
			buf.WriteByte('\n')
		}
		buf.WriteString(indent + "]")
	}
	return nil
}

// flat reports whether v is a scalar, or an object or array of scalars.
func flat(v any) bool {
	scalar := func(e any) bool {
		switch e.(type) {
		case map[string]any, []any:
			return false
		}
		return true
	}
	switch x := v.(type) {
	case map[string]any:
		for _, e := range x {
			if !scalar(e) {
				return false
			}
		}
	case []any:
		for _, e := range x {
			if !scalar(e) {
				return false
			}
		}
	}
	return true
}

// writeCompact writes v as one line of JSON (keys sorted, no HTML
// escaping).
func writeCompact(buf *bytes.Buffer, v any) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	out := bytes.TrimSuffix(b.Bytes(), []byte("\n"))
	// One space after each separator keeps the line readable.
	buf.Write(spaceSeparators(out))
	return nil
}

// spaceSeparators adds a space after the commas and colons of compact
// JSON that are outside strings.
func spaceSeparators(b []byte) []byte {
	out := make([]byte, 0, len(b)+len(b)/8)
	inStr, esc := false, false
	for _, c := range b {
		out = append(out, c)
		switch {
		case esc:
			esc = false
		case inStr && c == '\\':
			esc = true
		case c == '"':
			inStr = !inStr
		case !inStr && (c == ',' || c == ':'):
			out = append(out, ' ')
		}
	}
	return out
}

// stateTree is st as generic JSON values (numbers kept exact).
func stateTree(st *State) (any, error) {
	b, err := encodeState(st)
	if err != nil {
		return nil, err
	}
	var v any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return nil, fmt.Errorf("decode fake mac state: %w", err)
	}
	return v, nil
}

// diffPatch returns the RFC 7386 merge patch that turns from into to, and
// whether they differ. Objects are compared key by key; anything else is
// replaced whole.
func diffPatch(from, to any) (any, bool) {
	fm, okf := from.(map[string]any)
	tm, okt := to.(map[string]any)
	if okf && okt {
		patch := map[string]any{}
		for k, fv := range fm {
			tv, ok := tm[k]
			if !ok {
				patch[k] = nil
				continue
			}
			if p, changed := diffPatch(fv, tv); changed {
				patch[k] = p
			}
		}
		for k, tv := range tm {
			if _, ok := fm[k]; !ok {
				patch[k] = tv
			}
		}
		return patch, len(patch) > 0
	}
	if reflect.DeepEqual(from, to) {
		return nil, false
	}
	return to, true
}
