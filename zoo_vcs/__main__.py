"""``python -m zoo_vcs``: the same as the ``zoo-vcs`` command."""

from zoo_vcs.cli import main

if __name__ == "__main__":
    main()
