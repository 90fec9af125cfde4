"""The knowledge model: load a curated YAML file, validate it, and say exactly what is wrong.

Nothing here knows about Discord or matching. A file is parsed with PyYAML's safe
loader only; line numbers come from the composed node tree, so every problem can name
the file, line, entry id and field.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import yaml

from bot.core.surface import LITERAL_COMMAND, PLACEHOLDER, PLACEHOLDERS
from bot.core.text import fold
from bot.errors import BotError

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
#: The characters a URL may hold unencoded (RFC 3986), less parentheses and brackets: in
#: a markdown link ``[title](url)`` those end the link early and let the rest of the URL
#: read as a second, disguised link.
URL_CHARACTERS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~:/?#@!$&'*+,;=%"
)
LINK_BREAKERS = frozenset("()[]<>")
_SCHEME = re.compile(r"https?://", re.IGNORECASE)
_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
_HOST = re.compile(rf"{_LABEL}(?:\.{_LABEL})*\.?")
KNOWN_FIELDS = frozenset(
    {"id", "question", "alternates", "answer", "passage", "sources", "tags", "related", "action"}
)
# PyYAML's safe loader, in C when libyaml is there: the file is parsed once, its node tree
# both gives line numbers and is constructed with the safe constructor only.
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
TOP_LEVEL_FIELDS = frozenset({"version", "title", "synonyms", "entries"})
SUPPORTED_VERSION = 1


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds that keep a file servable: Discord's own limits and sane sizes."""

    max_bytes: int = 4 * 1024 * 1024
    max_entries: int = 2_000
    max_phrasings: int = 200_000
    max_alternates: int = 200
    min_alternates: int = 6
    max_question: int = 256  # an embed title holds 256 characters
    max_phrasing: int = 300
    max_answer: int = 1_200
    max_passage: int = 1_000  # shown in an embed field (1,024)
    max_sources: int = 10
    max_source_title: int = 256
    max_url: int = 512  # with the longest title shown, a source link fits an embed field
    max_tags: int = 10
    max_tag: int = 50
    max_nodes: int = 500_000  # expanded YAML nodes: stops alias bombs


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True, slots=True)
class Source:
    title: str
    url: str


@dataclass(frozen=True, slots=True)
class Passage:
    """Words quoted verbatim from where they were read: the NATO Watch brief unless
    ``source`` names another page (a URL), so every quotation can be checked."""

    text: str
    source: str | None = None

    def to_yaml(self) -> str | dict[str, str]:
        return self.text if self.source is None else {"text": self.text, "source": self.source}


@dataclass(frozen=True, slots=True)
class Entry:
    id: str
    question: str
    alternates: tuple[str, ...]
    answer: str
    sources: tuple[Source, ...]
    passage: tuple[Passage, ...] = ()
    tags: tuple[str, ...] = ()
    related: tuple[str, ...] = ()
    action: int | None = None

    @property
    def phrasings(self) -> tuple[str, ...]:
        """The canonical question first, then every alternate."""
        return (self.question, *self.alternates)

    def to_dict(self) -> dict[str, Any]:
        """The entry as it is written in YAML (empty optional fields left out)."""
        data: dict[str, Any] = {
            "id": self.id,
            "question": self.question,
            "alternates": list(self.alternates),
            "answer": self.answer,
        }
        if self.passage:
            items = [p.to_yaml() for p in self.passage]
            data["passage"] = items[0] if len(items) == 1 else items
        data["sources"] = [{"title": s.title, "url": s.url} for s in self.sources]
        if self.tags:
            data["tags"] = list(self.tags)
        if self.related:
            data["related"] = list(self.related)
        if self.action is not None:
            data["action"] = self.action
        return data


@dataclass(frozen=True)
class Knowledge:
    """One validated version of the knowledge; immutable so it can be swapped atomically."""

    entries: tuple[Entry, ...]
    synonyms: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    title: str = ""
    version: int = SUPPORTED_VERSION
    by_id: Mapping[str, Entry] = field(init=False, repr=False, compare=False)
    by_tag: Mapping[str, tuple[Entry, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_id", {e.id: e for e in self.entries})
        tagged: dict[str, list[Entry]] = {}
        for entry in self.entries:
            for tag in entry.tags:
                tagged.setdefault(tag, []).append(entry)
        object.__setattr__(self, "by_tag", {t: tuple(es) for t, es in tagged.items()})

    def get(self, entry_id: str) -> Entry | None:
        return self.by_id.get(entry_id)

    def by_action(self, number: int) -> Entry | None:
        return next((e for e in self.entries if e.action == number), None)

    @functools.cached_property
    def action_count(self) -> int:
        return max((e.action or 0 for e in self.entries), default=0)

    @property
    def tags(self) -> tuple[str, ...]:
        """Every tag, in the order the file first uses it."""
        return tuple(self.by_tag)

    def to_document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"version": self.version}
        if self.title:
            doc["title"] = self.title
        if self.synonyms:
            doc["synonyms"] = {k: list(v) for k, v in self.synonyms.items()}
        doc["entries"] = [e.to_dict() for e in self.entries]
        return doc


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a knowledge file, located as precisely as we can."""

    message: str
    file: str = "<knowledge>"
    line: int | None = None
    entry: str | None = None
    field: str | None = None
    severity: str = "error"  # or "warning"

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        parts = [where]
        if self.entry:
            parts.append(f"entry '{self.entry}'")
        if self.field:
            parts.append(f"field '{self.field}'")
        label = "" if self.severity == "error" else "warning: "
        return f"{', '.join(parts)}: {label}{self.message}"


class KnowledgeError(BotError):
    """A knowledge file that cannot be served; carries every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        errors = [p for p in problems if p.severity == "error"]
        head = str(errors[0]) if errors else "invalid knowledge"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(head + more)


# --- source URLs ------------------------------------------------------------------------


def url_problem(url: Any, max_length: int = DEFAULT_LIMITS.max_url) -> str | None:
    """Why ``url`` is not a plain http(s) address, or None when it is.

    Plain means it shows as exactly one markdown link, going where it says: only the
    characters RFC 3986 lets a URL hold unencoded, without parentheses and brackets (which
    end a link early), and no ``user@`` before the host (``https://nato.int@evil.example``
    goes to evil.example). Every refused character can be percent-encoded instead, which
    keeps the address.
    """
    if not isinstance(url, str) or not url.strip():
        return "is missing; give an http:// or https:// address"
    if not _SCHEME.match(url):
        return "must be an http(s) URL, starting http:// or https://"
    if len(url) > max_length:
        return f"is {len(url):,} characters; the limit is {max_length:,}"
    odd = next((c for c in url if c not in URL_CHARACTERS), None)
    if odd is not None:
        return _odd_character(odd)
    parts = urlsplit(url)
    if "@" in parts.netloc:
        return "has a name and '@' before the host, which hides where the link goes"
    if not _HOST.fullmatch(parts.hostname or ""):
        return "has no valid host name after the '//'"
    try:
        parts.port  # noqa: B018 - reading it is the check
    except ValueError:
        return "has a port that is not a number from 0 to 65535"
    return None


def _odd_character(char: str) -> str:
    encoded = quote(char, safe="")
    if char in LINK_BREAKERS:
        return (
            f"contains {char!r}, which would end the link early and let the rest show as "
            f"another link; write it as {encoded}"
        )
    code = f"U+{ord(char):04X}"
    if char.isspace():
        return f"contains a space or line break ({code}); write it as {encoded} or remove it"
    if not char.isprintable():
        name = unicodedata.name(char, "").lower() or "control character"
        return f"contains an invisible {name} ({code}); write it as {encoded} or remove it"
    if not char.isascii():
        return (
            f"contains {char!r} ({code}), which is not plain ASCII; write it as {encoded}, "
            "or a host name in its xn-- form"
        )
    return f"contains {char!r}; write it percent-encoded, as {encoded}"


# --- reading YAML with positions -------------------------------------------------------


def _expanded_size(node: yaml.Node, limit: int) -> int:
    """Count nodes as if aliases were copied out; stop as soon as ``limit`` is passed."""
    memo: dict[int, int] = {}
    active: set[int] = set()

    def size(n: yaml.Node) -> int:
        key = id(n)
        if key in memo:
            return memo[key]
        if key in active:  # a recursive alias: infinite when expanded
            return limit + 1
        active.add(key)
        total = 1
        if isinstance(n, yaml.SequenceNode):
            for child in n.value:
                total += size(child)
                if total > limit:
                    break
        elif isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                total += size(k) + size(v)
                if total > limit:
                    break
        active.discard(key)
        memo[key] = total
        return total

    return size(node)


class _Lines:
    """Line numbers (1-based) of the entries and their fields, from the composed tree."""

    def __init__(self, root: yaml.Node | None) -> None:
        self.top: dict[str, int] = {}
        self.entries: list[int] = []
        self.fields: list[dict[str, int]] = []
        if not isinstance(root, yaml.MappingNode):
            return
        for key, value in root.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else None
            if isinstance(name, str):
                self.top[name] = value.start_mark.line + 1
            if name == "entries" and isinstance(value, yaml.SequenceNode):
                for item in value.value:
                    self.entries.append(item.start_mark.line + 1)
                    fields: dict[str, int] = {}
                    if isinstance(item, yaml.MappingNode):
                        for k, v in item.value:
                            if isinstance(k, yaml.ScalarNode):
                                fields[str(k.value)] = v.start_mark.line + 1
                    self.fields.append(fields)

    def entry(self, index: int) -> int | None:
        return self.entries[index] if index < len(self.entries) else None

    def field(self, index: int, name: str) -> int | None:
        if index < len(self.fields) and name in self.fields[index]:
            return self.fields[index][name]
        return self.entry(index)


def read_document(text: str, file: str, limits: Limits = DEFAULT_LIMITS) -> tuple[Any, _Lines]:
    """Parse YAML text safely; raise KnowledgeError (never a YAML traceback) when it can't."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > limits.max_bytes:
        raise KnowledgeError(
            [Problem(f"file is {size:,} bytes; the limit is {limits.max_bytes:,}", file)]
        )
    loader = _SafeLoader(text)
    try:
        root = loader.get_single_node()
        if root is not None and _expanded_size(root, limits.max_nodes) > limits.max_nodes:
            raise KnowledgeError(
                [Problem("too many nodes once aliases are expanded (an alias bomb?)", file)]
            )
        data = loader.construct_document(root) if root is not None else None
    except yaml.YAMLError as exc:
        raise KnowledgeError([_yaml_problem(exc, file)]) from None
    except RecursionError:
        raise KnowledgeError([Problem("the YAML is nested too deeply", file)]) from None
    except (ValueError, TypeError, OverflowError) as exc:  # e.g. "!!int xyz", "2020-02-30"
        raise KnowledgeError(
            [Problem(f"not valid YAML: a value cannot be read ({exc})", file)]
        ) from None
    finally:
        loader.dispose()
    return data, _Lines(root)


def _yaml_problem(exc: yaml.YAMLError, file: str) -> Problem:
    mark = getattr(exc, "problem_mark", None)
    line = mark.line + 1 if mark is not None else None
    reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return Problem(f"not valid YAML: {reason}", file, line)


# --- validation ------------------------------------------------------------------------


class _Checker:
    """Walks a parsed document, collecting every problem instead of stopping at the first."""

    def __init__(self, file: str, lines: _Lines, limits: Limits) -> None:
        self.file = file
        self.lines = lines
        self.limits = limits
        self.problems: list[Problem] = []

    def add(
        self,
        message: str,
        *,
        line: int | None = None,
        entry: str | None = None,
        field: str | None = None,
        warning: bool = False,
    ) -> None:
        severity = "warning" if warning else "error"
        self.problems.append(Problem(message, self.file, line, entry, field, severity))

    def document(self, data: Any) -> Knowledge | None:
        if data is None:
            self.add("the file is empty; expected a mapping with 'version' and 'entries'")
            return None
        if not isinstance(data, dict):
            self.add(f"expected a mapping at the top level, found {_kind(data)}", line=1)
            return None
        for key in data:
            if key not in TOP_LEVEL_FIELDS:
                self.add(
                    f"unknown top-level key {key!r}",
                    line=self.lines.top.get(str(key)),
                    warning=True,
                )
        version = data.get("version", SUPPORTED_VERSION)
        if version != SUPPORTED_VERSION:
            self.add(
                f"unsupported version {version!r}; this bot reads version 1",
                line=self.lines.top.get("version"),
            )
        title = data.get("title", "")
        if not isinstance(title, str):
            self.add("'title' must be text", line=self.lines.top.get("title"))
            title = ""
        synonyms = self.synonyms(data.get("synonyms"))
        raw = data.get("entries")
        if not isinstance(raw, list) or not raw:
            self.add("'entries' must be a non-empty list", line=self.lines.top.get("entries"))
            return None
        if len(raw) > self.limits.max_entries:
            self.add(
                f"{len(raw):,} entries; the limit is {self.limits.max_entries:,}",
                line=self.lines.top.get("entries"),
            )
            return None
        placed = [(i, e) for i, item in enumerate(raw) if (e := self.entry(i, item)) is not None]
        self.across(placed)
        if any(p.severity == "error" for p in self.problems):
            return None
        return Knowledge(tuple(e for _, e in placed), synonyms, title, SUPPORTED_VERSION)

    def synonyms(self, raw: Any) -> dict[str, tuple[str, ...]]:
        line = self.lines.top.get("synonyms")
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            self.add("'synonyms' must map a canonical term to a list of variants", line=line)
            return {}
        result: dict[str, tuple[str, ...]] = {}
        for canon, value in raw.items():
            variants = [value] if isinstance(value, str) else value
            ok = isinstance(canon, str) and canon.strip() and isinstance(variants, list)
            if not ok or not all(isinstance(v, str) and v.strip() for v in variants):
                self.add(f"synonym {canon!r} must map to a list of non-empty strings", line=line)
                continue
            result[canon] = tuple(variants)
        return result

    def entry(self, index: int, item: Any) -> Entry | None:
        line = self.lines.entry(index)
        if not isinstance(item, dict):
            self.add(f"entry #{index + 1} must be a mapping, found {_kind(item)}", line=line)
            return None
        raw_id = item.get("id")
        eid = raw_id if isinstance(raw_id, str) else None
        ok = True

        def bad(name: str, message: str, *, warning: bool = False) -> None:
            nonlocal ok
            ok = ok and warning
            self.add(
                message,
                line=self.lines.field(index, name),
                entry=eid or f"#{index + 1}",
                field=name,
                warning=warning,
            )

        if eid is None or not ID_PATTERN.match(eid):
            bad("id", "missing or invalid id (lowercase letters, digits and hyphens)")
        for key in item:
            if key not in KNOWN_FIELDS:
                bad(str(key), "unknown field (a typo?)", warning=True)
        question = self.text(item, "question", self.limits.max_question, bad)
        answer = self.text(item, "answer", self.limits.max_answer, bad)
        if answer is not None:
            self.placeholders(answer, bad)
        alternates = self.alternates(item.get("alternates"), bad)
        sources = self.sources(item.get("sources"), bad)
        passage = self.passages(item.get("passage"), bad)
        tags = self.strings(item.get("tags"), "tags", self.limits.max_tag, bad)
        if len(tags) > self.limits.max_tags:
            bad("tags", f"{len(tags)} tags; the limit is {self.limits.max_tags}")
        related = self.strings(item.get("related"), "related", 64, bad)
        action = item.get("action")
        if action is not None and (type(action) is not int or not 1 <= action <= 99):
            bad("action", "must be a whole number from 1 to 99")
            action = None
        if not ok or eid is None or question is None or answer is None:
            return None
        return Entry(eid, question, alternates, answer, sources, passage, tags, related, action)

    def text(self, item: dict[str, Any], name: str, limit: int, bad: Any) -> str | None:
        value = item.get(name)
        if value is None:
            bad(name, "is missing")
            return None
        if not isinstance(value, str) or not value.strip():
            hint = "" if isinstance(value, str) else f", found {_kind(value)} (quote it)"
            bad(name, f"must be non-empty text{hint}")
            return None
        if len(value) > limit:
            bad(name, f"is {len(value):,} characters; the limit is {limit:,}")
            return None
        return value.strip()

    def alternates(self, value: Any, bad: Any) -> tuple[str, ...]:
        if value is None:
            bad("alternates", "is missing")
            return ()
        items = self.strings(value, "alternates", self.limits.max_phrasing, bad)
        if len(items) > self.limits.max_alternates:
            bad("alternates", f"{len(items)} phrasings; the limit is {self.limits.max_alternates}")
        elif len(items) < self.limits.min_alternates:
            bad(
                "alternates",
                f"only {len(items)} alternates; at least "
                f"{self.limits.min_alternates} help the matcher",
                warning=True,
            )
        return items

    def strings(self, value: Any, name: str, limit: int, bad: Any) -> tuple[str, ...]:
        if value is None:
            return ()
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            bad(name, f"must be a list of text, found {_kind(value)}")
            return ()
        out: list[str] = []
        for i, v in enumerate(value):
            if not isinstance(v, str) or not v.strip():
                bad(name, f"item {i + 1} must be non-empty text")
            elif len(v) > limit:
                bad(name, f"item {i + 1} is {len(v):,} characters; the limit is {limit:,}")
            else:
                out.append(v.strip())
        return tuple(out)

    def placeholders(self, answer: str, bad: Any) -> None:
        """Commands are named through placeholders, so each surface shows its own."""
        literal = LITERAL_COMMAND.search(answer)
        if literal:
            bad(
                "answer",
                f"names the command {literal.group(0)!r}; write a placeholder "
                f"such as {{recommendation}} so each surface shows its own command",
            )
        for name in PLACEHOLDER.findall(answer):
            if name not in PLACEHOLDERS:
                known = ", ".join(f"{{{n}}}" for n in sorted(PLACEHOLDERS))
                bad("answer", f"unknown placeholder {{{name}}} (known: {known})")

    def passages(self, value: Any, bad: Any) -> tuple[Passage, ...]:
        """Plain text (from the brief) or ``{text, source}`` mappings naming the page read."""
        items = [value] if isinstance(value, str | dict) else value
        if items is None:
            return ()
        if not isinstance(items, list):
            bad("passage", f"must be text or a list, found {_kind(items)}")
            return ()
        out: list[Passage] = []
        for i, item in enumerate(items):
            text, source = (
                (item.get("text"), item.get("source")) if isinstance(item, dict) else (item, None)
            )
            if isinstance(item, dict) and set(item) - {"text", "source"}:
                bad("passage", f"item {i + 1} may have only 'text' and 'source'")
            elif not isinstance(text, str) or not text.strip():
                bad("passage", f"item {i + 1} must be non-empty text")
            elif len(text) > self.limits.max_passage:
                limit = self.limits.max_passage
                bad("passage", f"item {i + 1} is {len(text):,} characters; the limit is {limit:,}")
            elif source is not None and (problem := url_problem(source, self.limits.max_url)):
                bad("passage", f"item {i + 1}: 'source' {problem}")
            else:
                out.append(Passage(text.strip(), source))
        return tuple(out)

    def sources(self, value: Any, bad: Any) -> tuple[Source, ...]:
        if not isinstance(value, list) or not value:
            bad("sources", "needs at least one source with a title and url")
            return ()
        if len(value) > self.limits.max_sources:
            bad("sources", f"{len(value)} sources; the limit is {self.limits.max_sources}")
        out: list[Source] = []
        for i, s in enumerate(value):
            title = s.get("title") if isinstance(s, dict) else None
            url = s.get("url") if isinstance(s, dict) else None
            if not isinstance(title, str) or not title.strip():
                bad("sources", f"source {i + 1} needs a title")
            elif len(title) > self.limits.max_source_title:
                bad(
                    "sources",
                    f"source {i + 1} title is over {self.limits.max_source_title} characters",
                )
            elif problem := url_problem(url, self.limits.max_url):
                bad("sources", f"source {i + 1} url {problem}")
            else:
                out.append(Source(title.strip(), str(url)))  # url_problem: it is text
        return tuple(out)

    def across(self, placed: list[tuple[int, Entry]]) -> None:
        """Checks that need the whole file: unique ids, phrasings and actions; related ids."""
        ids = {e.id for _, e in placed}
        first: dict[str, int | None] = {}  # id -> line of its first definition
        owner: dict[str, str] = {}  # folded phrasing -> entry id
        actions: dict[int, str] = {}
        for index, entry in placed:
            flag = functools.partial(self.add, line=self.lines.entry(index), entry=entry.id)
            if entry.id in first:
                flag(f"duplicate id (first defined at line {first[entry.id]})", field="id")
            first.setdefault(entry.id, self.lines.entry(index))
            for phrasing in entry.phrasings:
                other = owner.setdefault(fold(phrasing), entry.id)
                if other != entry.id:
                    flag(f"phrasing {phrasing!r} is also on entry '{other}'", field="alternates")
            if len({fold(p) for p in entry.phrasings}) < len(entry.phrasings):
                flag("a phrasing is listed twice", field="alternates", warning=True)
            for rel in entry.related:
                if rel not in ids:
                    flag(f"related id '{rel}' does not exist", field="related")
                elif rel == entry.id:
                    flag("an entry cannot be related to itself", field="related")
            if entry.action is not None:
                other = actions.setdefault(entry.action, entry.id)
                if other != entry.id:
                    flag(f"action {entry.action} is also on entry '{other}'", field="action")
        total = sum(len(e.phrasings) for _, e in placed)
        if total > self.limits.max_phrasings:
            self.add(f"{total:,} phrasings; the limit is {self.limits.max_phrasings:,}")


def _kind(value: Any) -> str:
    names = {dict: "a mapping", list: "a list", str: "text", bool: "true/false", int: "a number"}
    return names.get(type(value), type(value).__name__)


def parse_document(
    data: Any,
    file: str = "<knowledge>",
    *,
    lines: _Lines | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> tuple[Knowledge, list[Problem]]:
    """Validate an already-parsed document; return the knowledge and any warnings.

    Raises KnowledgeError listing every error when the document cannot be served.
    """
    checker = _Checker(file, lines or _Lines(None), limits)
    knowledge = checker.document(data)
    if knowledge is None:
        raise KnowledgeError(checker.problems)
    return knowledge, checker.problems


def parse_text(
    text: str, file: str = "<knowledge>", limits: Limits = DEFAULT_LIMITS
) -> tuple[Knowledge, list[Problem]]:
    data, lines = read_document(text, file, limits)
    return parse_document(data, file, lines=lines, limits=limits)


def load(path: Path, limits: Limits = DEFAULT_LIMITS) -> tuple[Knowledge, list[Problem]]:
    """Load and validate a knowledge file; KnowledgeError names every problem."""
    name = str(path)
    try:
        size = path.stat().st_size
        if size > limits.max_bytes:
            raise KnowledgeError(
                [Problem(f"file is {size:,} bytes; the limit is {limits.max_bytes:,}", name)]
            )
        raw = path.read_bytes()
    except OSError as exc:
        raise KnowledgeError([Problem(f"cannot read the file: {exc.strerror}", name)]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise KnowledgeError([Problem(f"not UTF-8 text (byte {exc.start})", name)]) from None
    return parse_text(text, name, limits)


def iter_errors(problems: list[Problem]) -> Iterator[Problem]:
    return (p for p in problems if p.severity == "error")
