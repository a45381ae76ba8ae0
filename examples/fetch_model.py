"""Load verified weights in one call: zoo_vcs.fetch_model.

    python examples/fetch_model.py SOURCE [DEST]

SOURCE is a model directory, a gist (id, user/id or URL) or a readme URL. The weights
are downloaded once (through the object cache), checked against the readme's or the
pointer's SHA1, and their path is printed; a second run does no network at all.
"""

from __future__ import annotations

import sys

import zoo_vcs


def main() -> int:
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        weights = zoo_vcs.fetch_model(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None)
    except zoo_vcs.ZooError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    # With pycaffe installed:  net = caffe.Net("deploy.prototxt", str(weights), caffe.TEST)
    print(weights)
    return 0


if __name__ == "__main__":
    sys.exit(main())
