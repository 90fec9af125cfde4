"""requirements.lock, which the Docker image installs, against pyproject.toml.

The image installs the lock with ``--require-hashes --no-deps``, so whatever the lock lacks
or pins outside pyproject.toml's ranges is what the image runs. These tests fail when the
two disagree: every dependency pyproject.toml names (``[project].dependencies`` and
``build-system.requires``) is locked at a version its specifier allows, with the extras it
asks for; every locked package carries hashes and is there because pyproject.toml, or
another locked package, needs it (the ``# via`` lines pip-compile writes); and, with the
network, every locked file for both image architectures downloads and matches its hash.
``scripts/lock.sh`` regenerates the lock.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from tests.conftest import REPO_ROOT

LOCK = REPO_ROOT / "requirements.lock"
PYPROJECT = REPO_ROOT / "pyproject.toml"
# pyproject.toml's two lists, as the lock's `# via` lines name them, and as messages do.
DEPENDENCIES = "eln-qa-bot (pyproject.toml)"
BUILD = "eln-qa-bot (pyproject.toml::build-system.requires)"
SOURCES = {DEPENDENCIES: "[project].dependencies", BUILD: "build-system.requires"}
HASH = re.compile(r"--hash=sha256:[0-9a-f]{64}\Z")
# The image's platforms: markers in pyproject.toml are read as pip reads them there.
IMAGE_PYTHON = re.search(
    r"^FROM python:(3\.11\.\d+)-", (REPO_ROOT / "Dockerfile").read_text(encoding="utf-8"), re.M
)
ARCHITECTURES = ("x86_64", "aarch64")
GLIBC_MINOR = 36  # Debian bookworm's glibc 2.36: the newest manylinux wheels the image takes


@dataclass(frozen=True)
class Locked:
    """One requirement of the lock: ``name[extras]==version --hash=...`` and its ``# via``."""

    line: int
    requirement: Requirement
    hashes: tuple[str, ...]
    via: tuple[str, ...]

    @property
    def name(self) -> str:
        return canonicalize_name(self.requirement.name)

    @property
    def version(self) -> str | None:
        pins = [s.version for s in self.requirement.specifier if s.operator == "=="]
        return pins[0] if len(pins) == 1 and len(self.requirement.specifier) == 1 else None


def read_lock(text: str) -> tuple[list[Locked], list[str]]:
    """The lock's requirements, and what in its form pip would refuse or this file forbids."""
    entries: list[Locked] = []
    problems: list[str] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        number, raw = i + 1, lines[i]
        i += 1
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        if raw[0].isspace():
            problems.append(f"line {number}: an indented line outside a requirement: {raw!r}")
            continue
        words = [raw.rstrip("\\").strip()]
        while raw.rstrip().endswith("\\") and i < len(lines):
            raw = lines[i]
            i += 1
            words.append(raw.rstrip("\\").strip())
        via: list[str] = []
        while i < len(lines) and lines[i].startswith("    #"):
            comment = lines[i].strip().lstrip("#").strip()
            i += 1
            name = comment.removeprefix("via").strip()
            if name:
                via.append(name)
        head, *options = " ".join(w for w in words if w).split()
        if head.startswith("-"):
            problems.append(
                f"line {number}: option {head!r}: the lock names no index, link or other file"
            )
            continue
        try:
            requirement = Requirement(head)
        except InvalidRequirement as exc:
            problems.append(f"line {number}: not a requirement: {exc}")
            continue
        hashes = tuple(o for o in options if o.startswith("--hash="))
        entry = Locked(number, requirement, hashes, tuple(via))
        if entry.version is None:
            problems.append(f"line {number}: {head} is not pinned with one ==")
        if not hashes:
            problems.append(f"line {number}: {head} has no --hash: pip --require-hashes refuses it")
        problems.extend(
            f"line {number}: {head}: not a sha256 hash: {o!r}" for o in options if not HASH.match(o)
        )
        entries.append(entry)
    return entries, problems


def _image_environments() -> list[dict[str, str]]:
    return [
        {
            "implementation_name": "cpython",
            "platform_python_implementation": "CPython",
            "python_version": "3.11",
            "python_full_version": IMAGE_PYTHON.group(1) if IMAGE_PYTHON else "3.11.0",
            "os_name": "posix",
            "sys_platform": "linux",
            "platform_system": "Linux",
            "platform_machine": machine,
            "extra": "",
        }
        for machine in ARCHITECTURES
    ]


def _wanted(project: dict[str, Any]) -> dict[str, dict[str, Requirement]]:
    """What pyproject.toml asks for in the image (as written there: parsed), by where it
    asks, named as pip-compile's ``# via`` lines name it."""
    sources = {
        DEPENDENCIES: project["project"].get("dependencies", []),
        BUILD: project["build-system"]["requires"],
    }
    environments = _image_environments()
    wanted: dict[str, dict[str, Requirement]] = {}
    for source, texts in sources.items():
        wanted[source] = {}
        for text in texts:
            r = Requirement(text)
            if r.marker is None or any(r.marker.evaluate(env) for env in environments):
                wanted[source][text] = r
    return wanted


def lock_problems(project: dict[str, Any], text: str) -> list[str]:
    """Every way the lock fails pyproject.toml; empty when the image gets what it asks for."""
    entries, problems = read_lock(text)
    by_name: dict[str, Locked] = {}
    for entry in entries:
        if entry.name in by_name:
            problems.append(f"line {entry.line}: {entry.name} is locked twice")
        by_name.setdefault(entry.name, entry)
    wanted = _wanted(project)
    for source, requirements in wanted.items():
        where = SOURCES[source]
        for written, want in requirements.items():
            got = by_name.get(canonicalize_name(want.name))
            if got is None:
                problems.append(f"{written} ({where}) is not in requirements.lock")
                continue
            if got.version is not None and not want.specifier.contains(
                got.version, prereleases=True
            ):
                problems.append(f"{written} ({where}): the lock has {got.version}")
            if missing := want.extras - got.requirement.extras:
                problems.append(f"{written} ({where}): the lock lacks extras {sorted(missing)}")
    named = {
        source: {canonicalize_name(r.name) for r in requirements.values()}
        for source, requirements in wanted.items()
    }
    for entry in entries:
        if not entry.via:
            problems.append(f"line {entry.line}: {entry.name} says nothing needs it (no # via)")
        for parent in entry.via:
            if parent in named and entry.name not in named[parent]:
                problems.append(
                    f"line {entry.line}: {entry.name} is locked for {parent}, which no longer "
                    "names it"
                )
            elif parent not in named and canonicalize_name(parent) not in by_name:
                problems.append(
                    f"line {entry.line}: {entry.name} is locked for {parent}, which is not locked"
                )
    return problems


def _pyproject() -> dict[str, Any]:
    return tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))


def test_the_lock_matches_pyproject() -> None:
    problems = lock_problems(_pyproject(), LOCK.read_text(encoding="utf-8"))
    assert not problems, (
        "requirements.lock and pyproject.toml disagree; regenerate with scripts/lock.sh:\n"
        + "\n".join(problems)
    )


def _block(text: str, name: str) -> str:
    """The lines of one locked package: its requirement, hashes and # via comments."""
    found = re.search(rf"^{re.escape(name)}(\[[^\]]*\])?==.*?(?=^\S|\Z)", text, re.M | re.S)
    assert found, f"{name} is not in requirements.lock"
    return found.group(0)


def _without_hashes(block: str) -> str:
    first, *rest = block.splitlines()
    return "\n".join([first.rstrip(" \\"), *(r for r in rest if "--hash" not in r)]) + "\n"


def _with_dependency(project: dict[str, Any], old: str | None, new: str | None) -> None:
    deps: list[str] = project["project"]["dependencies"]
    if old is not None:
        deps[:] = [d for d in deps if not d.startswith(old)]
    if new is not None:
        deps.append(new)


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("a dependency added to pyproject", "requests>=2 ([project].dependencies) is not in"),
        ("a range the lock is outside", "rapidfuzz>=99 ([project].dependencies): the lock has"),
        ("an extra the lock lacks", "lacks extras ['pool']"),
        ("a dependency dropped from pyproject", "snowballstemmer is locked for eln-qa-bot"),
        ("a locked dependency removed", "rapidfuzz>=3.9,<4 ([project].dependencies) is not in"),
        ("a line without hashes", "has no --hash"),
        ("a transitive package left behind", "is locked for left-behind, which is not locked"),
        ("the build backend unlocked", "(build-system.requires) is not in requirements.lock"),
        ("an index in the lock", "option '--extra-index-url'"),
    ],
)
def test_a_lock_that_disagrees_with_pyproject_fails(case: str, expected: str) -> None:
    """The check above fails for each way the two drift apart (so it is not vacuous)."""
    project = _pyproject()
    text = LOCK.read_text(encoding="utf-8")
    assert lock_problems(project, text) == []  # each case changes exactly one thing
    if case == "a dependency added to pyproject":
        _with_dependency(project, None, "requests>=2")
    elif case == "a range the lock is outside":
        _with_dependency(project, "rapidfuzz", "rapidfuzz>=99")
    elif case == "an extra the lock lacks":
        _with_dependency(project, "psycopg", "psycopg[binary,pool]>=3.1.18,<4")
    elif case == "a dependency dropped from pyproject":
        _with_dependency(project, "snowballstemmer", None)
    elif case == "a locked dependency removed":
        text = text.replace(_block(text, "rapidfuzz"), "")
    elif case == "a line without hashes":
        text = text.replace(_block(text, "rapidfuzz"), _without_hashes(_block(text, "rapidfuzz")))
    elif case == "a transitive package left behind":
        text = text.replace("    # via aiohttp\n", "    # via left-behind\n", 1)
    elif case == "the build backend unlocked":
        text = text.replace(_block(text, "setuptools"), "")
    elif case == "an index in the lock":
        text = "--extra-index-url file:///srv/mirror\n" + text
    problems = lock_problems(project, text)
    assert any(expected in p for p in problems), problems


def _platforms(machine: str) -> list[str]:
    """manylinux tags the image's glibc takes, newest first (pip does not expand them)."""
    modern = [f"manylinux_2_{minor}_{machine}" for minor in range(GLIBC_MINOR, 16, -1)]
    return [*modern, f"manylinux2014_{machine}"]


@pytest.mark.index
@pytest.mark.parametrize("machine", ARCHITECTURES)
def test_every_locked_package_downloads_for_the_image_and_matches_its_hash(
    machine: str, tmp_path: Path
) -> None:
    """What ``pip install --require-hashes -r requirements.lock`` meets on each image: a wheel
    for Linux on this architecture and CPython 3.11 (the build has no compiler) for every
    package, whose sha256 the lock lists. Needs the package index, like the image build."""
    platforms = [arg for p in _platforms(machine) for arg in ("--platform", p)]
    proc = subprocess.run(
        [
            *(sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check"),
            *("--no-deps", "--only-binary=:all:", "--require-hashes", *platforms),
            *("--python-version", "3.11", "--implementation", "cp", "--abi", "cp311"),
            *("--requirement", str(LOCK), "--dest", str(tmp_path)),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    entries, _ = read_lock(LOCK.read_text(encoding="utf-8"))
    downloaded = {canonicalize_name(p.name.split("-")[0]) for p in tmp_path.glob("*.whl")}
    assert downloaded == {e.name for e in entries}
