"""The Discord layer's own import rules: only the CLI and tests import the module that
builds the bot, and its modules import each other without a cycle (counting imports made
only for type checking, which hide cycles as well as any)."""

from __future__ import annotations

import ast
from pathlib import Path

import bot.discord

LAYER = Path(bot.discord.__file__).parent
BUILDER = "bot.discord.bot"


def module_name(path: Path) -> str:
    parts = path.relative_to(LAYER.parent.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Every ``bot.discord`` module ``path`` imports, wherever the import statement is."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


def graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in LAYER.rglob("*.py")}
    return {name: imports(path) & set(modules) for name, path in modules.items()}


def test_nothing_in_the_layer_imports_the_module_that_builds_the_bot() -> None:
    importers = sorted(name for name, deps in graph().items() if BUILDER in deps)
    assert importers == []


def test_the_layer_has_no_import_cycle() -> None:
    edges = graph()
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, "import cycle: " + " -> ".join((*path, name))
        if name in done:
            return
        for dep in sorted(edges[name]):
            if dep != name:  # a package importing its own submodules by name
                visit(dep, (*path, name))
        done.add(name)

    for name in sorted(edges):
        visit(name, ())
