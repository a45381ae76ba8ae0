"""Gists: the PyGithub adapter, the pure sync planner and the step that applies a plan."""
