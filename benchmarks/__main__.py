"""Run one benchmark by name, or all of them."""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = ("validation", "steps", "calls", "scale", "cli", "memory", "delivery", "web")


def main(argv: list[str]) -> int:
    names = argv or list(BENCHMARKS)
    for name in names:
        if name not in BENCHMARKS:
            print(f"error: unknown benchmark '{name}'; choose from {', '.join(BENCHMARKS)}")
            return 2
        importlib.import_module(f"benchmarks.bench_{name}").main()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
