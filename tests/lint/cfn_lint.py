"""Runs the venv's cfn-lint the way `make synth` does (from the repository, so it reads
``.cfnlintrc.yaml``) or from elsewhere with extra options."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

from tests.conftest import REPO_ROOT


def cfn_lint(
    templates: Iterable[Path], *options: str, cwd: Path = REPO_ROOT
) -> subprocess.CompletedProcess[str]:
    """cfn-lint over ``templates``; ``cwd`` other than the repository ignores its settings."""
    return subprocess.run(
        [str(Path(sys.executable).with_name("cfn-lint")), *map(str, templates), *options],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
