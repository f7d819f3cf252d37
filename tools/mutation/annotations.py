"""Mutations inside type annotations never change behaviour here: not generated.

Every runtime module starts with ``from __future__ import annotations``, so an annotation is
kept as a string and never evaluated (dataclasses and TypedDict read it as text). cosmic-ray
mutates annotations of assignments (``failed: set[str | None] = set()`` becomes
``set[str & None]``): such a mutant can only survive. This marks them skipped before the run.
"""

from __future__ import annotations

import ast
from pathlib import Path

from cosmic_ray.work_db import WorkDB, use_db
from cosmic_ray.work_item import WorkerOutcome, WorkResult

Span = tuple[tuple[int, int], tuple[int, int]]


def annotation_spans(source: str) -> list[Span]:
    """The (start, end) positions, 1-based lines and 0-based columns, of every annotation."""
    spans: list[Span] = []
    for node in ast.walk(ast.parse(source)):
        annotations: list[ast.expr | None] = []
        if isinstance(node, ast.AnnAssign | ast.arg):
            annotations.append(node.annotation)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            annotations.append(node.returns)
        for annotation in annotations:
            if annotation is not None and annotation.end_lineno is not None:
                end_col = annotation.end_col_offset or 0
                spans.append(
                    ((annotation.lineno, annotation.col_offset), (annotation.end_lineno, end_col))
                )
    return spans


def _inside(position: tuple[int, int], spans: list[Span]) -> bool:
    return any(start <= position < end for start, end in spans)


def skip_annotation_mutants(session: Path, module: Path) -> int:
    """Marks the session's pending mutants that lie in an annotation of ``module`` skipped;
    returns how many."""
    spans = annotation_spans(module.read_text(encoding="utf-8"))
    skipped = 0
    with use_db(str(session), WorkDB.Mode.open) as db:
        for item in db.pending_work_items:
            if all(_inside(tuple(m.start_pos), spans) for m in item.mutations):
                db.set_result(
                    item.job_id,
                    WorkResult(output="In a type annotation", worker_outcome=WorkerOutcome.SKIPPED),
                )
                skipped += 1
    return skipped
