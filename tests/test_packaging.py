"""What an install from a release gets: the knowledge, the licence and the notice.

``python -m build`` makes the sdist from a copy of the checkout and the wheel *from that
sdist*, as a release would, so a file the sdist forgets is missing from the wheel too
(with this environment's setuptools, to save a download, as the Docker image builds with
the setuptools from requirements.lock, without isolation). The wheel is then installed the
way issue 8 found broken, ``pip install --user``, and the installed
``bot.config.bundled_knowledge()`` must name a real file inside that install.
(tests/test_docker.py installs into a fresh virtual environment, with the locked
dependencies, and runs ``eln-bot`` from there.)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow

# What a checkout holds that a release must not be built from: anywhere, and at the top.
NOT_SOURCES = shutil.ignore_patterns("__pycache__", "*.egg-info", ".*_cache", ".hypothesis")
NOT_SOURCES_AT_TOP = {".git", ".venv", "data", "build", "dist"}
SHIPPED = ("knowledge/faq.yaml", "knowledge/schema.json", "bot/core/data/common_words.txt")


@dataclass(frozen=True)
class Release:
    sdist: Path
    wheel: Path


def _run(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert proc.returncode == 0, f"{argv} failed:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}"
    return proc.stdout


def _not_sources(folder: str, names: list[str]) -> set[str]:
    top = NOT_SOURCES_AT_TOP & set(names) if Path(folder) == REPO_ROOT else set()
    return top | NOT_SOURCES(folder, names)


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Release:
    tmp = tmp_path_factory.mktemp("release")
    source = tmp / "source"
    shutil.copytree(REPO_ROOT, source, ignore=_not_sources)
    build = [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(tmp / "dist")]
    _run([*build, str(source)], cwd=tmp)
    (sdist,) = (tmp / "dist").glob("*.tar.gz")
    (wheel,) = (tmp / "dist").glob("*.whl")
    return Release(sdist=sdist, wheel=wheel)


def test_sdist_carries_the_licence_notice_and_knowledge(release: Release) -> None:
    with tarfile.open(release.sdist) as archive:
        top = archive.getnames()[0].split("/")[0]
        names = {name.removeprefix(top + "/") for name in archive.getnames()}
    assert {"LICENSE", "NOTICE", "pyproject.toml", "README.md", *SHIPPED} <= names


def test_wheel_carries_the_knowledge_inside_the_package(release: Release) -> None:
    with zipfile.ZipFile(release.wheel) as archive:
        names = set(archive.namelist())
    assert {
        "bot/knowledge_data/faq.yaml",
        "bot/knowledge_data/schema.json",
        "bot/core/data/common_words.txt",
        "bot/py.typed",
    } <= names
    licences = {Path(n).name for n in names if ".dist-info/licenses/" in n}
    assert licences == {"LICENSE", "NOTICE"}
    assert not [n for n in names if ".data/" in n], "nothing may land outside the package"


def test_user_install_finds_the_knowledge(release: Release, tmp_path: Path) -> None:
    """``pip install --user``: the case that used to lose knowledge/faq.yaml."""
    base_python = getattr(sys, "_base_executable", sys.executable)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["PYTHONUSERBASE"] = str(tmp_path / "userbase")
    install = [sys.executable, "-m", "pip", "--python", base_python, "install", "--quiet"]
    install += ["--user", "--no-deps", "--no-warn-script-location", "--break-system-packages"]
    _run([*install, str(release.wheel)], cwd=tmp_path, env=env)
    code = "import bot.config as c; print(c.bundled_knowledge())"
    found = Path(_run([base_python, "-c", code], cwd=tmp_path, env=env).strip())
    assert found.is_relative_to(tmp_path / "userbase"), found
    assert found.parts[-3:] == ("bot", "knowledge_data", "faq.yaml")
    assert found.read_bytes() == (REPO_ROOT / "knowledge" / "faq.yaml").read_bytes()
