package main

// Placeholder until the workflow audit lands (owned by the workflow work).

type workflowCmd struct{}

func (c *workflowCmd) Run(e *env) error { return errNotYet }
