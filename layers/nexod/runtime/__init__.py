"""Executing flow nodes: the node runner behind the step Lambda and the local orchestrator."""
