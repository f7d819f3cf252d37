"""Round trips on a batch's critical path, from the (start, end) times of its requests.

``critical_path(intervals)`` is the length of the longest chain of requests in which each one
starts after the previous one ended: the longest path in the interval order. Requests that
overlap (sent concurrently) never chain, so ten locks in flight at once count as one round
trip, and twenty requests one after the other as twenty. Sorted by start,
``chain(i) = 1 + max(chain(j) for every j with end_j <= start_i)`` (0 for none).

``per_batch(requests, batches)`` groups requests by the batch whose ``[start, end]`` window
(the client's own clock around the batch call) holds the request's start; requests outside
every window are returned apart, so the caller can tell work that leaked out of a batch.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["Interval", "critical_path", "per_batch"]

#: A request's (start, end) on one monotonic clock, end >= start.
Interval = tuple[float, float]


def critical_path(intervals: Sequence[Interval]) -> int:
    """The longest chain of intervals, each starting at or after the previous one's end."""
    ordered = sorted(intervals)
    chains: list[int] = []
    for start, _ in ordered:
        before = [chain for (_, end), chain in zip(ordered, chains, strict=False) if end <= start]
        chains.append(1 + max(before, default=0))
    return max(chains, default=0)


def per_batch(
    requests: Sequence[Interval], batches: Sequence[Interval]
) -> tuple[list[list[Interval]], list[Interval]]:
    """Each batch window's requests (by start time), and the requests in no window."""
    grouped: list[list[Interval]] = [[] for _ in batches]
    outside: list[Interval] = []
    for request in requests:
        for index, (begin, finish) in enumerate(batches):
            if begin <= request[0] <= finish:
                grouped[index].append(request)
                break
        else:
            outside.append(request)
    return grouped, outside
