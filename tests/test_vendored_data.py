"""The vendored test data: present, unaltered, with its origin and licence beside it.

The tests read Discord's OpenAPI description and the source brief from ``tests/data`` so a
clone with nothing beside it runs every test with request validation on. These checks keep
that true: a missing or edited copy fails here, by name, rather than somewhere downstream.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import re

import yaml

from tests.conftest import COVERAGE, DATA_DIR, DISCORD_SPEC, REPO_ROOT, SOURCE_DIR

BRIEF = SOURCE_DIR / "nato-watch-2020-12-07-eln-recommendations.txt"
BRIEF_ORIGIN = BRIEF.with_suffix(".source.yaml")
BRIEF_URL = (
    "https://natowatch.org/newsbriefs/2020/"
    "pan-european-network-former-leaders-publishes-recommendations-de-escalating-nato"
)
# A test that reaches outside the repository for data: what the vendoring replaced.
OUTSIDE_READS = re.compile(r"""SHARED_DIR|\.\./shared|/ ["']shared["']""")


def test_the_brief_is_the_text_its_origin_file_describes() -> None:
    origin = yaml.safe_load(BRIEF_ORIGIN.read_text(encoding="utf-8"))
    assert origin["file"] == BRIEF.name
    assert origin["url"] == BRIEF_URL
    assert origin["published"] == datetime.date(2020, 12, 7)
    assert origin["read"] == datetime.date(2026, 12, 1)
    assert hashlib.sha256(BRIEF.read_bytes()).hexdigest() == origin["sha256"]
    assert BRIEF.read_text(encoding="utf-8").splitlines()[2] == "7 December 2020"


def test_discord_spec_is_openapi_31_with_its_mit_licence() -> None:
    spec = json.loads(DISCORD_SPEC.read_text(encoding="utf-8"))
    assert spec["openapi"].startswith("3.1")
    assert "MessageCreateRequest" in spec["components"]["schemas"]
    licence = (DISCORD_SPEC.parent / "LICENSE").read_text(encoding="utf-8")
    assert licence.startswith("MIT License") and "Copyright 2023 Discord" in licence
    assert "commit" in (DISCORD_SPEC.parent / "README.md").read_text(encoding="utf-8")


def test_coverage_names_entry_ids() -> None:
    coverage = yaml.safe_load(COVERAGE.read_text(encoding="utf-8"))
    ids = [topic for section in coverage.values() for topic in section]
    assert len(ids) >= 20 and all(re.fullmatch(r"[a-z0-9-]+", i) for i in ids)


def test_every_vendored_file_is_listed_in_the_data_readme() -> None:
    readme = (DATA_DIR / "README.md").read_text(encoding="utf-8")
    for name in ("discord-api-spec/", BRIEF.name, COVERAGE.name):
        assert name in readme, f"tests/data/README.md does not say where {name} comes from"


def test_no_test_reads_outside_the_repository() -> None:
    offenders = [
        str(path.relative_to(REPO_ROOT))
        for path in sorted((REPO_ROOT / "tests").rglob("*.py"))
        if path.name != "test_vendored_data.py"
        and OUTSIDE_READS.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
