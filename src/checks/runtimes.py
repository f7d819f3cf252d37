"""Lambda runtimes: the one table the runtime rules and the baseline Aspect read.

Source: the runtimes aws-cdk-lib 2.275 marks deprecated ("Legacy runtime no longer supported
by AWS Lambda") and the newest runtime of each family it knows. Update this table when
aws-cdk-lib adds or deprecates a runtime; nothing else needs to change.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RuntimeFamily:
    """The runtimes of one language: the newest, and those Lambda no longer supports."""

    name: str
    prefixes: tuple[str, ...]
    latest: str
    deprecated: frozenset[str]


FAMILIES: tuple[RuntimeFamily, ...] = (
    RuntimeFamily(
        "Python",
        ("python",),
        latest="python3.14",
        deprecated=frozenset({"python2.7", "python3.6", "python3.7", "python3.8", "python3.9"}),
    ),
    RuntimeFamily(
        "Node.js",
        ("nodejs",),
        latest="nodejs24.x",
        deprecated=frozenset(
            {
                "nodejs",
                "nodejs4.3",
                "nodejs6.10",
                "nodejs8.10",
                "nodejs10.x",
                "nodejs12.x",
                "nodejs14.x",
                "nodejs16.x",
                "nodejs18.x",
            }
        ),
    ),
    RuntimeFamily("Java", ("java",), latest="java25", deprecated=frozenset({"java8"})),
    RuntimeFamily(
        ".NET",
        ("dotnet",),
        latest="dotnet10",
        deprecated=frozenset(
            {"dotnet6", "dotnetcore1.0", "dotnetcore2.0", "dotnetcore2.1", "dotnetcore3.1"}
        ),
    ),
    RuntimeFamily(
        "Ruby", ("ruby",), latest="ruby4.0", deprecated=frozenset({"ruby2.5", "ruby2.7"})
    ),
    RuntimeFamily(
        "OS-only", ("provided",), latest="provided.al2023", deprecated=frozenset({"provided"})
    ),
    RuntimeFamily("Go", ("go",), latest="provided.al2023", deprecated=frozenset({"go1.x"})),
)


def family_of(runtime: str) -> RuntimeFamily | None:
    """The family of a runtime identifier such as ``python3.12``, or None if unknown."""
    for family in FAMILIES:
        if runtime.startswith(family.prefixes):
            return family
    return None


def is_deprecated(runtime: str) -> bool:
    """Whether Lambda no longer supports the runtime."""
    family = family_of(runtime)
    return family is not None and runtime in family.deprecated


def is_older_than_latest(runtime: str) -> bool:
    """Whether a supported runtime has a newer one in its family.

    Only runtimes of this table count: an identifier the table does not know (a runtime newer
    than the table) is never reported.
    """
    family = family_of(runtime)
    if family is None or runtime == family.latest or runtime in family.deprecated:
        return False
    return runtime in KNOWN_SUPPORTED


#: Supported runtimes that are not the newest of their family.
KNOWN_SUPPORTED = frozenset(
    {
        "python3.10",
        "python3.11",
        "python3.12",
        "python3.13",
        "nodejs20.x",
        "nodejs22.x",
        "java8.al2",
        "java8.al2023",
        "java11",
        "java11.al2023",
        "java17",
        "java17.al2023",
        "java21",
        "dotnet8",
        "dotnet9",
        "ruby3.2",
        "ruby3.3",
        "ruby3.4",
        "provided.al2",
    }
)

#: The newest Python runtime identifier (the baseline Aspect upgrades Python functions to it).
LATEST_PYTHON = FAMILIES[0].latest


def python_version(runtime: str) -> tuple[int, ...] | None:
    """``(3, 12)`` for ``python3.12``; None for another family or an odd identifier."""
    if not runtime.startswith("python"):
        return None
    try:
        return tuple(int(part) for part in runtime.removeprefix("python").split("."))
    except ValueError:
        return None
