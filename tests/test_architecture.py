"""The layers of ``bot/``, checked over its real import graph.

Every ``import`` in every module counts, wherever it stands: at the top, inside a function
(where the old app -> cogs -> app cycle hid) or under ``if TYPE_CHECKING:``. The graph is
read with :mod:`ast`, so nothing is imported to build it. The contract:

* ``bot.core`` (knowledge, matching, evaluation, the service) is pure: it reaches neither
  discord.py, nor the Discord layer, nor the CLI, nor storage;
* ``bot.storage`` reaches neither discord.py, nor the Discord layer, nor the CLI;
* only ``bot.__main__`` imports ``bot.cli`` (the ``eln-bot`` script is an entry point,
  not an import);
* no cog and no view imports the module that builds the bot (``bot.discord.bot``);
* there is no import cycle anywhere in ``bot``.

"Reaches" means through any chain of imports, so a shared module (``bot.config``,
``bot.errors``, ``bot.health``) that pulled in discord.py would break the core too. One
check runs the real thing: ``eln-bot ask`` answers without loading a discord module.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

PACKAGE = REPO_ROOT / "bot"

# Layer -> what it must never reach. "discord" is discord.py (and its discord.* modules).
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "bot.core": ("discord", "bot.discord", "bot.cli", "bot.storage"),
    "bot.storage": ("discord", "bot.discord", "bot.cli"),
}
# Modules that must not import the module that builds the bot, directly or otherwise.
BUILDER = "bot.discord.bot"
BUILT_FROM = ("bot.discord.cogs", "bot.discord.views")
CLI_IMPORTERS = frozenset({"bot.__main__"})
# Known breaches of the contract, (importer, imported) by module prefix, each waiting for
# its fix and ignored by every check until then. This set may only shrink: a listed
# import that is gone fails test_allowed_breaches_are_still_needed until removed here.
ALLOWED_BREACHES: frozenset[tuple[str, str]] = frozenset()


@dataclass(frozen=True)
class Import:
    importer: str
    target: str  # a module of bot, or an outside top-level package such as "discord"
    line: int

    def __str__(self) -> str:
        return f"{self.importer}:{self.line} imports {self.target}"


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> Mapping[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def resolve(importer: str, node: ast.ImportFrom) -> str:
    """The absolute module an ``ImportFrom`` names, relative imports included."""
    if not node.level:
        return node.module or ""
    is_package = modules()[importer].name == "__init__.py"
    base = importer.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def targets(importer: str, node: ast.Import | ast.ImportFrom) -> Iterator[str]:
    """What one import statement loads: a submodule where it names one, else the module."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield alias.name
        return
    module = resolve(importer, node)
    for alias in node.names:
        submodule = f"{module}.{alias.name}"
        yield submodule if submodule in modules() else module


def known(target: str) -> str:
    """``target`` as a node of the graph: a module of ``bot``, or an outside top level."""
    if target == "bot" or target.startswith("bot."):
        name = target
        while name not in modules():  # an attribute path, e.g. "bot.core.knowledge.load"
            name = name.rpartition(".")[0]
        return name
    return target.split(".", maxsplit=1)[0]


@cache
def imports() -> tuple[Import, ...]:
    found = []
    for name, path in modules().items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                found += [Import(name, known(t), node.lineno) for t in targets(name, node)]
    return tuple(found)


def within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def breached(importer: str, target: str) -> bool:
    return any(within(importer, i) and within(target, t) for i, t in ALLOWED_BREACHES)


@cache
def graph() -> Mapping[str, frozenset[str]]:
    """Who imports whom, without the allowed breaches."""
    edges: dict[str, set[str]] = {name: set() for name in modules()}
    for imp in imports():
        if imp.target != imp.importer and not breached(imp.importer, imp.target):
            edges[imp.importer].add(imp.target)
    return {name: frozenset(out) for name, out in edges.items()}


def chain_to(start: str, forbidden: tuple[str, ...]) -> list[str] | None:
    """The shortest import chain from ``start`` to a forbidden module, or ``None``."""
    seen, frontier = {start}, [[start]]
    while frontier:
        next_frontier = []
        for path in frontier:
            for target in sorted(graph().get(path[-1], ())):
                if target in seen:
                    continue
                if any(within(target, f) for f in forbidden):
                    return [*path, target]
                seen.add(target)
                next_frontier.append([*path, target])
        frontier = next_frontier
    return None


def cycles(edges: Mapping[str, frozenset[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges.get(node, ())):
            if target not in edges:
                continue  # outside bot
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


# --- the graph reader itself ------------------------------------------------------------


def test_the_graph_sees_every_kind_of_import() -> None:
    """Sanity: top-level, relative and function-level imports all reach the graph."""
    assert {"bot.core", "bot.storage", "bot.discord", "bot.cli", "bot.__main__"} <= set(modules())
    assert any(within(t, "bot.cli") for t in graph()["bot.__main__"])
    assert "discord" in graph()["bot.discord.bot"]
    lazy = [i for i in imports() if i.importer == "bot.cli.main" and i.target == "bot.discord.bot"]
    assert lazy, "the CLI's function-level import of the Discord layer was not seen"


def test_resolve_reads_relative_imports() -> None:
    node = ast.parse("from ..render import clip").body[0]
    assert isinstance(node, ast.ImportFrom)
    assert resolve("bot.discord.cogs.ask", node) == "bot.discord.render"
    node = ast.parse("from . import ask").body[0]
    assert isinstance(node, ast.ImportFrom)
    assert resolve("bot.discord.cogs", node) == "bot.discord.cogs"


# --- the contract -----------------------------------------------------------------------


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_reaches_nothing_it_must_not(layer: str) -> None:
    broken = {
        name: chain
        for name in sorted(modules())
        if within(name, layer) and (chain := chain_to(name, FORBIDDEN[layer]))
    }
    assert not broken, f"{layer} must not reach {', '.join(FORBIDDEN[layer])}:\n" + "\n".join(
        " -> ".join(chain) for chain in broken.values()
    )


def test_allowed_breaches_are_still_needed() -> None:
    """Each listed breach still exists; once fixed, delete it from ALLOWED_BREACHES."""
    gone = [
        (importer, target)
        for importer, target in sorted(ALLOWED_BREACHES)
        if not any(within(i.importer, importer) and within(i.target, target) for i in imports())
    ]
    assert not gone, f"fixed, so remove from ALLOWED_BREACHES in {__file__}: {gone}"


def test_only_the_main_module_imports_the_cli() -> None:
    offenders = [
        str(i)
        for i in imports()
        if within(i.target, "bot.cli")
        and not within(i.importer, "bot.cli")
        and i.importer not in CLI_IMPORTERS
    ]
    assert offenders == []


def test_no_cog_or_view_imports_the_module_that_builds_the_bot() -> None:
    broken = [
        " -> ".join(chain)
        for name in sorted(modules())
        if any(within(name, m) for m in BUILT_FROM) and (chain := chain_to(name, (BUILDER,)))
    ]
    assert broken == []


def test_no_import_cycles() -> None:
    found = cycles(graph())
    detail = [
        " <-> ".join(component)
        + "\n"
        + "\n".join(
            f"    {i}" for i in imports() if i.importer in component and i.target in component
        )
        for component in found
    ]
    assert not found, "import cycles in bot/:\n" + "\n".join(detail)


def test_cycle_finder_finds_the_cycle_issue_8_found() -> None:
    """The detector itself, on app -> cogs -> app with a bystander importing both."""
    edges = {
        "app": frozenset({"cogs", "render"}),
        "cogs": frozenset({"app", "render"}),
        "render": frozenset({"discord"}),
        "main": frozenset({"app"}),
    }
    assert cycles(edges) == [["app", "cogs"]]
    assert cycles({"a": frozenset({"b"}), "b": frozenset()}) == []


# --- and at run time --------------------------------------------------------------------

ASK_AND_LIST_MODULES = """
import sys
from bot.cli import main
status = main(["ask", "What did the experts recommend?"])
discord = [m for m in sys.modules if m.split(".")[0] == "discord" or m.startswith("bot.discord")]
print("exit", status, "loaded", *sorted(discord), file=sys.stderr)
"""


def test_ask_loads_no_discord_module(tmp_path: Path) -> None:
    """The offline path stays offline: no discord.py, no Discord layer, in the process."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "ELN_DATA_DIR": str(tmp_path / "data")}
    env.pop("DISCORD_TOKEN", None)
    proc = subprocess.run(
        [sys.executable, "-c", ASK_AND_LIST_MODULES],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Sources:" in proc.stdout
    (report,) = [line.split() for line in proc.stderr.splitlines() if line.startswith("exit ")]
    assert report == ["exit", "0", "loaded"], f"`eln-bot ask` loaded {report[3:]}"
