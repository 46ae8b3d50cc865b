package engine

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// FuzzRecipe feeds arbitrary source to Load, Plan and Apply: bad input
// must give an error or a report, never a panic or a hang.
func FuzzRecipe(f *testing.F) {
	for _, seed := range []string{
		kvResource + "allow_writes(\"/etc/kv\")\nkv_res(\"a\", \"a\", \"1\")\n",
		"resource(id = 1, kind = None, want = {1: 2}, check = 3, requires = \"x\")\n",
		"load(\"@stdlib//helper.star\", \"twice\")\nprint(twice(2))\n",
		"def f():\n    f()\nf()\n",
		"x = [i for i in range(10)]\n",
		"resource(id = \"a\", kind = \"k\", want = {\"v\": at_least(1)}, check = lambda: {\"v\": unknown(\"x\")}, remediation = \"r\")\n",
	} {
		f.Add(seed)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, src string) {
		p := filepath.Join(dir, "main.star")
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		r, err := Load(context.Background(), p, Options{
			Host: newScriptedHost(map[string]string{"a": "0"}), Modules: []Module{kvModule()},
			Stdlib: testStdlib, MaxSteps: 100_000,
		})
		if err != nil {
			return
		}
		defer r.Close()
		r.Plan(context.Background())
		r.Apply(context.Background())
	})
}
