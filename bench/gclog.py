"""Sums up a log of ``bench/gcprobe``: per generation, how many collections, their total, p50, p90 and longest.

python -m bench.gclog FILE
"""

from __future__ import annotations

import sys

from ._common import percentile

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m bench.gclog FILE", file=sys.stderr)
        return 2
    took: dict[int, list[float]] = {}
    try:
        with open(args[0], encoding="ascii") as log:
            for number, line in enumerate(log, 1):
                fields = line.split()
                if len(fields) != 4:
                    print(f"bench.gclog: {args[0]}:{number}: not a line of bench/gcprobe", file=sys.stderr)
                    return 2
                took.setdefault(int(fields[1]), []).append(float(fields[2]))
    except (OSError, ValueError) as exc:
        print(f"bench.gclog: {args[0]}: {exc}", file=sys.stderr)
        return 2
    for generation, times in sorted(took.items()):
        print(
            f"generation {generation}: {len(times)} collections, {sum(times):.0f} ms in all, "
            f"p50 {percentile(times, 50):.2f} ms, p90 {percentile(times, 90):.2f} ms, longest {max(times):.1f} ms"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
