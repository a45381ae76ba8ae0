"""Git access: the only GitPython user; git's errors become ``GitError`` here."""
