"""The repository zoo-vcs acts on: its context (root, config, caches), readmes, entries."""
