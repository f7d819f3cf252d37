"""Package discovery for the two source roots; all other metadata lives in pyproject.toml.

setuptools' declarative ``packages.find`` names packages after their folders (``checks``,
``constructs``), and a top-level ``constructs`` would shadow the dependency of that name. So the
packages are discovered here, under each root's import name: every folder with an
``__init__.py`` below ``src/`` is a subpackage of ``serverless_patterns`` and below ``runtime/``
one of ``serverless_patterns.runtime``. A new package is shipped without editing a list.
"""

from setuptools import find_packages, setup

#: import name -> source folder (the same mapping as ``package-dir`` in pyproject.toml).
ROOTS = {"serverless_patterns": "src", "serverless_patterns.runtime": "runtime"}


def discover(name: str, folder: str) -> list[str]:
    """The package ``name`` rooted at ``folder`` and every package below it."""
    return [name, *(f"{name}.{package}" for package in find_packages(folder))]


setup(packages=[package for name, folder in ROOTS.items() for package in discover(name, folder)])
