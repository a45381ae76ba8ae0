"""Write a deterministic stand-in for Tiny Net's trained weights (no download needed)."""

from __future__ import annotations

import argparse
import random
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("output", type=Path, nargs="?",
                        default=Path(__file__).with_name("tiny_net.caffemodel"))
    parser.add_argument("--mib", type=int, default=8, help="size in MiB (default 8)")
    args = parser.parse_args()
    rng = random.Random(20140918)  # fixed seed: the same bytes, hence the same SHA1, everywhere
    args.output.parent.mkdir(parents=True, exist_ok=True)
    with open(args.output, "wb") as f:
        for _ in range(args.mib):
            f.write(rng.randbytes(1 << 20))
    print(args.output)


if __name__ == "__main__":
    main()
