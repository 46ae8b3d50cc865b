package fakemac

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/sysprog21/hvfctl/builtins/fixturelock"
	"github.com/sysprog21/hvfctl/builtins/host"
)

// VerifyTree implements fixturelock.TreeVerifier against the simulated
// file system: the manifest is read from its (modelled) content, and the
// tree's files are compared by the size and SHA-256 their nodes carry. A
// fixture fault or response on `<verify-tree> DIR MANIFEST` with a
// non-zero exit makes it fail the way a real error would.
func (m *Mac) VerifyTree(ctx context.Context, dir, manifest string, guard func(string) error) (fixturelock.Report, error) {
	if err := ctx.Err(); err != nil {
		return fixturelock.Report{}, fmt.Errorf("fakemac: %w", err)
	}
	if rep, ok, err := m.recordedTree(dir, manifest); ok {
		return rep, err
	}
	man, src, err := m.fixtureTree(dir, manifest)
	if err != nil {
		return fixturelock.Report{}, err
	}
	return fixturelock.Verify(ctx, src, man, fixturelock.Options{Guard: guard})
}

// fixtureTree reads the manifest and lists the tree under the lock, so
// that the verification sees one consistent state.
func (m *Mac) fixtureTree(dir, manifest string) (*fixturelock.Manifest, fixturelock.ListedSource, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.st.Clock++
	var none fixturelock.ListedSource
	if r, ok := m.scripted([]string{fixturelock.OpVerifyTree, dir, manifest}); ok {
		if err := scriptedErr("verify-tree "+dir, r); err != nil {
			return nil, none, err
		}
	}
	mreal, mn, err := m.lookup("root", manifest, true)
	if err != nil {
		return nil, none, fmt.Errorf("manifest %s: %w", manifest, err)
	}
	if mn.Type != TypeFile {
		return nil, none, fmt.Errorf("manifest %s: not a regular file", manifest)
	}
	if mn.Content == nil {
		return nil, none, fmt.Errorf("manifest %s: fakemac: %w: its bytes are not modelled (only size and SHA-256)", manifest, host.ErrUnsupported)
	}
	man, err := fixturelock.Parse(strings.NewReader(*mn.Content), manifest)
	if err != nil {
		return nil, none, err
	}
	real, dn, err := m.lookup("root", dir, true)
	if err != nil {
		return nil, none, fmt.Errorf("fixture directory %s: %w", dir, err)
	}
	if dn.Type != TypeDir {
		return nil, none, fmt.Errorf("fixture directory %s: not a directory", dir)
	}
	src := fixturelock.ListedSource{Name: dir}
	prefix := strings.TrimSuffix(real, "/") + "/"
	for p, n := range m.st.Files {
		if !strings.HasPrefix(p, prefix) || n.Type == TypeDir || p == mreal {
			continue
		}
		node := fixturelock.Node{Path: strings.TrimPrefix(p, prefix)}
		switch n.Type {
		case TypeFile:
			if n.Ino != 0 {
				if l := m.links(n); l > 1 {
					// As the real backend lists it: never read as root.
					node.Type = fixturelock.TypeOther
					node.Kind = fixturelock.HardLinkedKind(l)
					break
				}
			}
			node.Type = fixturelock.TypeFile
			node.Size = n.size()
			node.SHA256 = n.sum()
		case TypeSymlink:
			node.Type = fixturelock.TypeLink
			node.Target = n.Target
		default:
			node.Type = fixturelock.TypeOther
			node.Kind = n.Type
		}
		src.Nodes = append(src.Nodes, node)
	}
	return man, src, nil
}

// recordedTree answers a verification from a recorded fixture: a response
// to `<verify-tree> DIR MANIFEST` with exit 0 (matched) or 1 (differences)
// whose stdout is the report as JSON, as `hvfctl check --record` writes
// it. It reports false when no such response is scripted.
func (m *Mac) recordedTree(dir, manifest string) (fixturelock.Report, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range m.st.Responses {
		if len(r.Argv) != 3 || r.Argv[0] != fixturelock.OpVerifyTree || r.Argv[1] != dir || r.Argv[2] != manifest {
			continue
		}
		if (r.Exit != 0 && r.Exit != 1) || !strings.HasPrefix(strings.TrimSpace(r.Stdout), "{") {
			return fixturelock.Report{}, false, nil
		}
		m.st.Clock++
		var rep fixturelock.Report
		if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil {
			return rep, true, fmt.Errorf("verify-tree %s: the recorded report is not valid: %w", dir, err)
		}
		return rep, true, nil
	}
	return fixturelock.Report{}, false, nil
}
