"""Git hooks: the installed scripts and what each hook does when git runs it."""
