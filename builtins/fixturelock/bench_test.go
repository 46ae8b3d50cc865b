package fixturelock

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"text/tabwriter"
	"time"
)

// benchTree is the generated tree of the comparison: a few large files
// (kernels, root file systems) and many small ones (packages, scripts).
type benchTree struct {
	large, small         int
	largeSize, smallSize int
}

var defaultBenchTree = benchTree{large: 3, small: 300, largeSize: 40 << 20, smallSize: 16 << 10}

// generate writes the tree under dir with pseudo-random bytes (fixed seed)
// and returns the total size.
func (bt benchTree) generate(tb testing.TB, dir string) int64 {
	tb.Helper()
	rng := rand.New(rand.NewChaCha8([32]byte{'h', 'v', 'f'}))
	var total int64
	write := func(p string, size int) {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			tb.Fatal(err)
		}
		b := make([]byte, size)
		for i := 0; i+8 <= len(b); i += 8 {
			v := rng.Uint64()
			for k := 0; k < 8; k++ {
				b[i+k] = byte(v >> (8 * k))
			}
		}
		if err := os.WriteFile(full, b, 0o644); err != nil {
			tb.Fatal(err)
		}
		total += int64(size)
	}
	for i := 0; i < bt.large; i++ {
		write(fmt.Sprintf("large/image-%d.img", i), bt.largeSize)
	}
	for i := 0; i < bt.small; i++ {
		write(fmt.Sprintf("small/%02d/pkg-%03d.apk", i%10, i), bt.smallSize+i*37)
	}
	return total
}

// BenchmarkVerify measures a full verification (walk, compare, hash every
// byte) of the comparison tree, warm in the page cache.
func BenchmarkVerify(b *testing.B) {
	dir := b.TempDir()
	total := defaultBenchTree.generate(b, dir)
	ctx := context.Background()
	if _, err := LockDir(ctx, dir, "", Options{}); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(total)
	b.ResetTimer()
	for b.Loop() {
		rep, err := VerifyDir(ctx, dir, "", Options{})
		if err != nil || !rep.OK() {
			b.Fatalf("verify: %+v, %v", rep, err)
		}
	}
}

// BenchmarkParse measures parsing a manifest of ten thousand entries.
func BenchmarkParse(b *testing.B) {
	m := &Manifest{}
	for i := 0; i < 10000; i++ {
		m.Entries = append(m.Entries, Entry{Path: fmt.Sprintf("dir%03d/file %05d.apk", i/100, i), Type: TypeFile, Size: int64(i), SHA256: sumA})
	}
	text, err := m.Marshal()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		if _, err := Parse(strings.NewReader(string(text)), "bench"); err != nil {
			b.Fatal(err)
		}
	}
}

// TestCompareTools times hvfctl's verification against `sha256sum -c` and
// `shasum -a 256 -c` over the same generated tree, side by side in one
// run, and prints a table of times and ratios. It only reports: it has no
// timed assertion. `make bench` runs it with HVFCTL_BENCH_COMPARE=1.
func TestCompareTools(t *testing.T) {
	if os.Getenv("HVFCTL_BENCH_COMPARE") == "" {
		t.Skip("set HVFCTL_BENCH_COMPARE=1 to compare with sha256sum and shasum (make bench)")
	}
	const rounds = 3
	dir := t.TempDir()
	total := defaultBenchTree.generate(t, filepath.Join(dir, "tree"))
	tree := filepath.Join(dir, "tree")
	ctx := context.Background()
	m, err := LockDir(ctx, tree, "", Options{})
	if err != nil {
		t.Fatal(err)
	}
	// The same pins in the format both coreutils and Perl's shasum check.
	var sums strings.Builder
	for _, e := range m.Entries {
		fmt.Fprintf(&sums, "%s  %s\n", e.SHA256, e.Path)
	}
	sumsFile := filepath.Join(dir, "SHA256SUMS")
	if err := os.WriteFile(sumsFile, []byte(sums.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	type tool struct {
		name string
		run  func() error
		best time.Duration
		note string
	}
	external := func(argv ...string) func() error {
		return func() error {
			cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
			cmd.Dir = tree
			out, err := cmd.CombinedOutput()
			if err != nil {
				return fmt.Errorf("%s: %w\n%s", strings.Join(argv, " "), err, out)
			}
			return nil
		}
	}
	tools := []*tool{{
		name: fmt.Sprintf("hvfctl fixtures verify (%d workers)", Options{}.workers(1<<30)),
		run: func() error {
			rep, err := VerifyDir(ctx, tree, "", Options{})
			if err == nil && !rep.OK() {
				err = fmt.Errorf("tree does not verify: %+v", rep)
			}
			return err
		},
	}}
	// The built command too, when `make bench` has built it: the same
	// verification plus process start and manifest parsing.
	bin := os.Getenv("HVFCTL_BIN")
	if bin == "" {
		bin = filepath.Join("..", "..", "bin", "hvfctl")
	}
	if abs, err := filepath.Abs(bin); err == nil {
		if _, err := os.Stat(abs); err == nil {
			tools = append(tools, &tool{name: "bin/hvfctl fixtures verify (process)", run: external(abs, "fixtures", "verify", "--no-progress", tree)})
		}
	}
	for _, argv := range [][]string{
		{"sha256sum", "-c", "--quiet", sumsFile},
		{"shasum", "-a", "256", "-c", "--quiet", sumsFile},
	} {
		tl := &tool{name: strings.Join(argv[:len(argv)-1], " ")}
		if path, err := exec.LookPath(argv[0]); err != nil {
			tl.note = "skipped: " + argv[0] + " not installed"
		} else {
			tl.run = external(append([]string{path}, argv[1:]...)...)
		}
		tools = append(tools, tl)
	}
	// One warm-up round fills the page cache, then the tools take turns so
	// that each sees the same machine state; the best round counts.
	for round := 0; round <= rounds; round++ {
		for _, tl := range tools {
			if tl.run == nil {
				continue
			}
			start := time.Now()
			if err := tl.run(); err != nil {
				t.Fatalf("%s: %v", tl.name, err)
			}
			d := time.Since(start)
			if round > 0 && (tl.best == 0 || d < tl.best) {
				tl.best = d
			}
		}
	}
	base := tools[0].best
	var b strings.Builder
	fmt.Fprintf(&b, "tree: %d files, %.1f MiB (%d × %d MiB + %d small); best of %d warm rounds\n",
		len(m.Entries), float64(total)/(1<<20), defaultBenchTree.large, defaultBenchTree.largeSize>>20, defaultBenchTree.small, rounds)
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "tool\ttime\tMiB/s\ttime ÷ hvfctl's")
	ordered := append([]*tool(nil), tools...)
	sort.SliceStable(ordered, func(i, j int) bool { return ordered[i].run != nil && ordered[j].run == nil })
	for _, tl := range ordered {
		if tl.run == nil {
			fmt.Fprintf(tw, "%s\t-\t-\t%s\n", tl.name, tl.note)
			continue
		}
		fmt.Fprintf(tw, "%s\t%v\t%.0f\t%.2f×\n", tl.name, tl.best.Round(time.Millisecond),
			float64(total)/(1<<20)/tl.best.Seconds(), float64(tl.best)/float64(base))
	}
	tw.Flush()
	fmt.Print(b.String())
}
