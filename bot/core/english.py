"""How common an English word is, from a shipped extract of wordfreq (see bot/core/data/)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from types import MappingProxyType

DATA = Path(__file__).resolve().parent / "data" / "common_words.txt"


@cache
def zipf_table() -> Mapping[str, float]:
    """word -> Zipf frequency (7 is "the"; words missing from the table are rarer than 3.5)."""
    table: dict[str, float] = {}
    for line in DATA.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            word, zipf = line.split()
            table[word] = float(zipf)
    return MappingProxyType(table)


def rarity(word: str) -> float:
    """0.08 for everyday words ("even") up to 1.0 for rare ones ("schengen")."""
    zipf = zipf_table().get(word)
    if zipf is None:
        return 1.0
    return min(1.0, max(0.08, (6.2 - zipf) / 2.5))


def is_common(word: str, threshold: float = 4.5) -> bool:
    zipf = zipf_table().get(word)
    return zipf is not None and zipf >= threshold
