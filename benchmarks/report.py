"""What the benchmarks print: plain aligned tables and the machine they ran on.

* ``plain_table(title, header, rows, text=N)``: the title, the header, a rule of dashes and
  the rows, columns two spaces apart; the first ``text`` columns left-aligned, the others
  right-aligned.
* ``machine()``: CPUs and 1-minute load average, since other processes on the machine slow
  the concurrent side of a benchmark more.
* ``CorrectnessError``: raised when a benchmark's correctness check fails; the benchmark then
  reports it loudly and exits non-zero instead of printing timings.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

__all__ = ["CorrectnessError", "machine", "plain_table"]


class CorrectnessError(Exception):
    """What was timed did not do what it promises (or the harness did not): the timings mean
    nothing.
    """


def plain_table(
    title: str, header: Sequence[str], rows: Sequence[Sequence[str]], *, text: int = 1
) -> str:
    """A plain table; the first ``text`` columns are left-aligned, the others right-aligned."""
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=False)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            f"{cell:<{width}}" if index < text else f"{cell:>{width}}"
            for index, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return "\n".join(
        [title, line(header), "  ".join("-" * width for width in widths)]
        + [line(row) for row in rows]
    )


def machine() -> str:
    """CPUs and load: other processes on the machine slow the concurrent side more."""
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # no load average on this platform
        return f"{os.cpu_count()} CPUs"
    return f"{os.cpu_count()} CPUs, 1-minute load average {load:.2f}"
