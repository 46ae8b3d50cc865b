package main

// Placeholder until the engine lands (owned by the engine work).

type planCmd struct{}
type checkCmd struct{}
type runCmd struct{}
type factsCmd struct{}
type testCmd struct{}
type docCmd struct{}
type versionCmd struct{}

func (c *planCmd) Run(e *env) error    { return errNotYet }
func (c *checkCmd) Run(e *env) error   { return errNotYet }
func (c *runCmd) Run(e *env) error     { return errNotYet }
func (c *factsCmd) Run(e *env) error   { return errNotYet }
func (c *testCmd) Run(e *env) error    { return errNotYet }
func (c *docCmd) Run(e *env) error     { return errNotYet }
func (c *versionCmd) Run(e *env) error { return errNotYet }
