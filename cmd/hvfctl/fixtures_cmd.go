package main

// Placeholder until the fixtures lock lands (owned by the fixtures work).

type fixturesCmd struct{}

func (c *fixturesCmd) Run(e *env) error { return errNotYet }
