"""The critical-path measure of the idempotency benchmark, on hand-made request intervals."""

from __future__ import annotations

from itertools import permutations

from hypothesis import given
from hypothesis import strategies as st

from benchmarks.critical_path import Interval, critical_path, per_batch


def test_no_requests_is_no_round_trip() -> None:
    assert critical_path([]) == 0


def test_concurrent_requests_are_one_round_trip() -> None:
    # Ten locks in flight at once.
    assert critical_path([(0.0 + i * 0.001, 5.0 + i * 0.001) for i in range(10)]) == 1


def test_sequential_requests_each_count() -> None:
    # Powertools' put then update per record, one after the other.
    assert critical_path([(float(i), i + 0.9) for i in range(20)]) == 20


def test_a_request_starting_exactly_at_another_end_chains() -> None:
    assert critical_path([(0.0, 1.0), (1.0, 2.0)]) == 2


def test_locks_then_writes_is_two_round_trips() -> None:
    locks = [(0.0, 5.0), (0.1, 5.5), (0.2, 6.0)]
    writes = [(6.5, 11.0), (6.6, 11.2)]
    assert critical_path(locks + writes) == 2


def test_the_longest_chain_wins_over_the_first_one() -> None:
    # A long request overlaps a chain of three short ones: the chain of three counts.
    intervals = [(0.0, 10.0), (0.5, 1.0), (1.5, 2.0), (2.5, 3.0), (10.5, 11.0)]
    assert critical_path(intervals) == 4  # the three short ones, then the last one


def test_a_write_overlapping_the_next_one_does_not_chain() -> None:
    # Completion writes in flight while the next one starts: concurrent, not sequential.
    assert critical_path([(0.0, 2.0), (1.0, 3.0), (2.5, 4.0)]) == 2


def test_order_of_the_log_does_not_matter() -> None:
    intervals = [(0.0, 1.0), (2.0, 3.0), (0.5, 2.5), (3.0, 4.0)]
    assert {critical_path(list(order)) for order in permutations(intervals)} == {3}


def _brute_force(intervals: list[Interval]) -> int:
    """The longest sequence of distinct intervals, each ending before the next starts."""
    best = 0

    def extend(last: Interval | None, used: frozenset[int], length: int) -> None:
        nonlocal best
        best = max(best, length)
        for index, interval in enumerate(intervals):
            if index not in used and (last is None or last[1] <= interval[0]):
                extend(interval, used | {index}, length + 1)

    extend(None, frozenset(), 0)
    return best


_intervals = st.lists(
    st.tuples(st.integers(0, 20), st.integers(0, 6)).map(
        lambda p: (float(p[0]), p[0] + p[1] + 0.0)
    ),
    max_size=7,
)


@given(_intervals)
def test_matches_brute_force_over_every_chain(intervals: list[Interval]) -> None:
    assert critical_path(intervals) == _brute_force(intervals)


def test_requests_go_to_the_batch_whose_window_holds_their_start() -> None:
    batches = [(0.0, 10.0), (20.0, 30.0)]
    requests = [(1.0, 2.0), (9.0, 12.0), (15.0, 16.0), (20.0, 21.0), (31.0, 32.0)]
    grouped, outside = per_batch(requests, batches)
    assert grouped == [[(1.0, 2.0), (9.0, 12.0)], [(20.0, 21.0)]]
    assert outside == [(15.0, 16.0), (31.0, 32.0)]
