package main

// Placeholder until fmt/lint land (owned by the fixtures work).

type fmtCmd struct{}
type lintCmd struct{}

func (c *fmtCmd) Run(e *env) error  { return errNotYet }
func (c *lintCmd) Run(e *env) error { return errNotYet }
