package tarcheck

import (
	"archive/tar"
	"bytes"
	"strings"
	"testing"
)

// FuzzCheck feeds arbitrary bytes to Read and arbitrary member lists to
// Check: neither may panic, and an accepted list never has a member whose
// name is absolute or has a .. component.
func FuzzCheck(f *testing.F) {
	f.Add([]byte("s\x00.\ne1\x00s/..\n"), false)
	f.Add([]byte("a\x00b\nb\x00a\na/x\x00\n"), true)
	f.Fuzz(func(t *testing.T, data []byte, gz bool) {
		_, _ = Read(bytes.NewReader(data))
		var es []Entry
		for _, ln := range strings.Split(string(data), "\n") {
			name, target, isLink := strings.Cut(ln, "\x00")
			e := Entry{Name: name, Type: File}
			if isLink {
				e.Type, e.Linkname = Symlink, target
				if gz {
					e.Type = Hard
				}
			}
			es = append(es, e)
		}
		if Check("/d", es) == nil {
			for _, e := range es {
				if strings.HasPrefix(e.Name, "/") || strings.Contains("/"+e.Name+"/", "/../") {
					t.Fatalf("accepted %q", e.Name)
				}
			}
		}
		var buf bytes.Buffer
		w := tar.NewWriter(&buf)
		_ = w.WriteHeader(&tar.Header{Name: string(data), Typeflag: tar.TypeSymlink, Linkname: string(data)})
		_ = w.Close()
		if es, err := Read(&buf); err == nil {
			_ = Check("/d", es)
		}
	})
}
