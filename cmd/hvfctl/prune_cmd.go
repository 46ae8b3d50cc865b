package main

// Placeholder until prune lands (owned by the fixtures work).

type pruneCmd struct{}

func (c *pruneCmd) Run(e *env) error { return errNotYet }
