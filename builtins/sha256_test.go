package builtins

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"testing"
)

// SHA256Of returns the lower-case hex SHA-256 of the bytes of r and their
// number, as `shasum -a 256` would print the digest. Tests use it to pin
// the contents they write to the fake Mac.
func SHA256Of(r io.Reader) (sum string, size int64, err error) {
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		return "", n, fmt.Errorf("hashing: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

func TestSHA256Of(t *testing.T) {
	sum, n, err := SHA256Of(strings.NewReader("abc"))
	if err != nil || n != 3 || sum != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Errorf("%s %d %v", sum, n, err)
	}
}
