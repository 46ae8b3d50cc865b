// Package stdlib holds the Starlark modules embedded in hvfctl. Recipes
// load them as "@stdlib//NAME.star"; the engine resolves those loads from
// FS and `hvfctl doc` documents every public function they define.
package stdlib

import "embed"

// FS is the embedded stdlib: every *.star file of this directory.
//
//go:embed *.star
var FS embed.FS
