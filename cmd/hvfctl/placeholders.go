package main

import "errors"

// errNotYet marks commands whose implementation has not landed. Every
// placeholder must be gone before the issues are resolved.
var errNotYet = errors.New("not implemented yet")
