"""Match a question to a knowledge entry, or decline honestly.

Plain string similarity between whole questions fails here: nearly every question
shares "NATO", "Russia", "treaty", "report". So the matcher weighs each word by how few
entries use it (an inverse document frequency over entries), reads typos as the nearest
known word (rapidfuzz), and scores an entry by how much of the *question's* weight its
phrasings explain. Words the knowledge has never seen keep their weight in the
denominator, which is what makes "What is the Kyoto Protocol?" decline.

Everything that depends only on the knowledge is built once in ``Matcher.__init__``.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

from rapidfuzz import fuzz, process

from bot.core import smalltalk
from bot.core.decision import DecisionModel
from bot.core.english import is_common, rarity
from bot.core.knowledge import Entry, Knowledge
from bot.core.normalise import STOPWORDS, Normaliser, clean, in_range, requested_item

STOP_WEIGHT = 0.15
ITEM_SCORE = 92.0  # confidence for an explicit "recommendation 4"
MAX_QUESTION_CHARS = 2_000  # matching work stays bounded whatever is pasted in
MAX_CLAUSES = 6
SIBLING_GAP = 15.0  # a linked runner-up this close is offered beside the answer
Progress = Callable[[int, int], None]  # (done, total), for a long pass over the knowledge
# Where the question in a long message starts or ends: sentences, and the turns people
# take before getting to the point ("... anyway, what did they want?").
_CLAUSE_BREAK = re.compile(
    r"[.?!;:\n]+\s*|\s+[-–—]+\s+|,?\s+\b(?:so|but|anyway|anyways|i\s+mean|basically|btw|"
    r"by\s+the\s+way|long\s+story\s+short|the\s+thing\s+is|my\s+question\s+is|"
    r"i\s+was\s+wondering|i\s+wonder|quick\s+question|question)\b[,:]?\s*",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Calibrated on tests/data/dev_set.yaml, checked on the held-out set."""

    answer: float = 45.0
    suggest: float = 30.0
    margin: float = 4.0  # top two closer than this are too close to call...
    sure: float = 75.0  # ...unless the top one is at least this confident
    strict_bonus: float = 10.0  # added to ``answer`` where the bot speaks unprompted
    fuzzy_cutoff: float = 80.0  # similarity for reading an unknown word as a known one
    blend: float = 0.5  # weight of the best single phrasing vs the entry's whole vocabulary
    beta: float = 1.0  # how much more question coverage counts than phrasing coverage
    gamma: float = 0.5  # the entry's whole vocabulary counts as much as its best phrasing fits
    english: float = 0.5  # how much everyday English words count less, known or not
    seed_cap: int = 1_000  # words on more phrasings than this only score, never seed


DEFAULT_THRESHOLDS = Thresholds()


class Status(StrEnum):
    ANSWER = "answer"
    UNSURE = "unsure"
    DECLINE = "decline"
    SMALLTALK = "smalltalk"  # a greeting, thanks, a joke or a request: a fixed reply


@dataclass(frozen=True, slots=True)
class Candidate:
    entry: Entry
    score: float  # 0-100
    phrasing: str  # the phrasing that matched best


@dataclass(frozen=True, slots=True)
class Token:
    """How one word of the question was read."""

    word: str
    known_as: str | None  # the knowledge's word it was read as, None when unknown
    similarity: float
    weight: float


@dataclass(frozen=True)
class Match:
    question: str
    status: Status
    candidates: tuple[Candidate, ...]  # best first
    normalised: str
    tokens: tuple[Token, ...] = ()
    item: int | None = None
    suggestions: tuple[Entry, ...] = ()  # "did you mean", only when not answering
    confidence: float = 0.0  # probability that the top candidate is right (0-1)
    smalltalk: smalltalk.Kind | None = None
    out_of_range: int | None = None  # "recommendation 9" when there are seven...
    item_count: int = 0  # ...and how many there are
    features: tuple[float, ...] = ()

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None

    @property
    def entry(self) -> Entry | None:
        """The answer, only when the matcher is confident."""
        return self.candidates[0].entry if self.status is Status.ANSWER else None

    @property
    def score(self) -> float:
        return self.candidates[0].score if self.candidates else 0.0

    @property
    def sibling(self) -> Entry | None:
        """A close runner-up linked to the answer (a treaty beside the recommendation about
        it, a section beside its report): offered as a button next to the answer."""
        if self.entry is None or len(self.candidates) < 2:
            return None
        top, second = self.candidates[0], self.candidates[1]
        linked = second.entry.id in top.entry.related or top.entry.id in second.entry.related
        return second.entry if linked and top.score - second.score <= SIBLING_GAP else None


@dataclass(frozen=True, slots=True)
class Confusion:
    """A phrasing that, left out of its entry, is answered confidently by another entry.

    ``in_place`` is what answers the phrasing with every phrasing present: normally its own
    entry (the wording overlaps, the answer works), else another entry or None (nothing
    answers it), which a member asking those words would see.
    """

    entry_id: str
    phrasing: str
    landed_on: str
    score: float
    in_place: str | None

    @property
    def answered_in_place(self) -> bool:
        return self.in_place == self.entry_id


@dataclass(frozen=True, order=True, slots=True)
class Sibling:
    """Two entries and how many of each one's phrasings land on the other."""

    first: str
    second: str
    first_to_second: int
    second_to_first: int

    @property
    def mutual(self) -> bool:
        return bool(self.first_to_second and self.second_to_first)


@dataclass(frozen=True, slots=True)
class _Reading:
    """One way of reading the question (the whole message, or one clause of it)."""

    tokens: list[Token]
    candidates: list[Candidate]
    exact: bool

    @property
    def top(self) -> float:
        return self.candidates[0].score if self.candidates else 0.0


@dataclass(frozen=True, slots=True)
class _Phrasing:
    entry: int
    text: str
    tokens: frozenset[str]
    mass: float


class Matcher:
    """An immutable index over one version of the knowledge."""

    def __init__(
        self,
        knowledge: Knowledge,
        thresholds: Thresholds = DEFAULT_THRESHOLDS,
        model: DecisionModel | None = None,
    ) -> None:
        self.knowledge = knowledge
        self.thresholds = thresholds
        self.model = model
        self._norm = Normaliser(knowledge.synonyms)
        entries = knowledge.entries
        surfaces: dict[str, str] = {}
        token_sets: list[list[frozenset[str]]] = []
        self._exact: dict[str, int] = {}
        for entry in entries:
            sets = []
            for phrasing in entry.phrasings:
                terms = self._norm.terms(clean(phrasing))
                for surface, token in terms:
                    surfaces.setdefault(token, surface)
                sets.append(frozenset(token for _, token in terms))
            token_sets.append(sets)
        self._bags = [Counter(t for s in sets for t in s) for sets in token_sets]
        df = Counter(t for bag in self._bags for t in bag)
        n = max(len(entries), 1)
        self._unknown_weight = math.log(1 + n)
        self._weight = {t: self._token_weight(t, surfaces[t], n / d) for t, d in df.items()}
        self._phrasings: list[_Phrasing] = []
        self._postings: dict[str, list[int]] = {}
        self._stop_postings: dict[str, list[int]] = {}
        for i, (entry, sets) in enumerate(zip(entries, token_sets, strict=True)):
            for text, tokens in zip(entry.phrasings, sets, strict=True):
                k = len(self._phrasings)
                mass = sum(self._weight[t] for t in tokens)
                self._phrasings.append(_Phrasing(i, text, tokens, mass))
                self._exact.setdefault(" ".join(sorted(tokens)), k)
                for t in tokens:
                    index = self._stop_postings if self._norm.is_stopword(t) else self._postings
                    index.setdefault(t, []).append(k)
        self._df = df
        self._index = {entry.id: i for i, entry in enumerate(entries)}
        self._synonym_tokens = frozenset(
            token for canonical in knowledge.synonyms for token in self._norm.tokens(canonical)
        )
        self._vocab: dict[tuple[str, int], list[str]] = {}
        for t in sorted(self._postings):
            if len(t) >= 3 and not t.isdigit():
                self._vocab.setdefault((t[0], len(t)), []).append(t)

    def _token_weight(self, token: str, surface: str, ratio: float) -> float:
        """Rare in this knowledge *and* in English means informative."""
        if self._norm.is_stopword(token) or surface in STOPWORDS or len(token) == 1:
            return STOP_WEIGHT  # a lone digit or letter says little ("2+2"); positions are
            # read by requested_item, years and counts have more digits
        english = self.thresholds.english
        return math.log(1 + ratio) * ((1 - english) + english * rarity(surface))

    # --- public API --------------------------------------------------------------------

    def match(self, question: str, *, strict: bool = False) -> Match:
        """Rank entries for ``question`` and decide: answer, unsure (suggest) or decline."""
        return self._match(question, strict=strict, exclude=None)

    def rank(self, question: str, limit: int = 25) -> list[Candidate]:
        """Best candidates first, for autocomplete; never raises, empty for empty input."""
        if not question.strip():
            return []
        return list(self._match(question, strict=False, exclude=None).candidates[:limit])

    def confusable(self, progress: Progress | None = None) -> list[Confusion]:
        """Phrasings that, left out of their own entry, land on another: a member's wording
        close to them may too. ``progress(done, total)`` follows the pass, one call a phrasing.
        """
        found: list[Confusion] = []
        total = len(self._phrasings)
        for k, p in enumerate(self._phrasings):
            if progress is not None:
                progress(k, total)
            result = self._match(p.text, strict=False, exclude=k)
            own = self.knowledge.entries[p.entry].id
            if result.entry is not None and result.entry.id != own:
                in_place = self.match(p.text).entry
                found.append(
                    Confusion(
                        own,
                        p.text,
                        result.entry.id,
                        result.score,
                        in_place.id if in_place is not None else None,
                    )
                )
        if progress is not None:
            progress(total, total)
        return found

    def sibling_pairs(self, confusions: Iterable[Confusion] | None = None) -> list[Sibling]:
        """Pairs of entries that take each other's phrasings: siblings whose wording needs
        sharpening, or a general entry whose phrasings belong to a specific one."""
        counts: Counter[tuple[str, str]] = Counter()
        for c in self.confusable() if confusions is None else confusions:
            counts[(c.entry_id, c.landed_on)] += 1
        pairs: dict[tuple[str, str], Sibling] = {}
        for a, b in counts:
            key = (min(a, b), max(a, b))
            if key not in pairs:
                pairs[key] = Sibling(key[0], key[1], counts[key], counts[(key[1], key[0])])
        return sorted(pairs.values(), key=lambda s: (-(s.first_to_second + s.second_to_first), s))

    # --- scoring -----------------------------------------------------------------------

    def _match(self, question: str, *, strict: bool, exclude: int | None) -> Match:
        text = question[:MAX_QUESTION_CHARS]
        cleaned = clean(text)
        kind = smalltalk.classify(cleaned) if exclude is None else None
        if kind is not None:
            return Match(question, Status.SMALLTALK, (), cleaned, confidence=1.0, smalltalk=kind)
        # The whole message ranks (measured: ranking by the best clause loses more than it
        # gains); the best clause's own score tells the decision how sure to be.
        use = self._reading(cleaned, exclude)
        count = self.knowledge.action_count
        requested = requested_item(cleaned, count)  # read once: in range, or past the end
        item = in_range(requested, count)
        candidates = use.candidates
        if item is not None:
            candidates = self._promote_item(candidates, item)
        top_id = candidates[0].entry.id if candidates else None
        clause = max(self._clause_score(text, exclude, top_id), use.top)
        features = self._features(use, clause, candidates, item is not None, len(cleaned.split()))
        status, confidence = self._decide(candidates, strict, features)
        suggestions: tuple[Entry, ...] = ()
        if status is not Status.ANSWER:
            floor = self.thresholds.suggest
            suggestions = tuple(c.entry for c in candidates[:3] if c.score >= floor)
        return Match(
            question,
            status,
            tuple(candidates[:10]),
            cleaned,
            tuple(use.tokens),
            item,
            suggestions,
            confidence=confidence,
            out_of_range=requested
            if count and requested is not None and requested > count
            else None,
            item_count=count,
            features=features,
        )

    def _reading(self, cleaned: str, exclude: int | None) -> _Reading:
        tokens = self._read(cleaned)
        exact = self._exact_hit(tokens, exclude)
        return _Reading(tokens, exact or self._score(tokens, exclude), bool(exact))

    def _clause_score(self, text: str, exclude: int | None, entry_id: str | None) -> float:
        """The best score any one clause of a long message gives ``entry_id``: a question
        buried in chatter ("... anyway, what did they say about missiles?") scores high."""
        parts = [p for p in _CLAUSE_BREAK.split(text) if p and len(p.split()) >= 2]
        if entry_id is None or len(parts) < 2 or len(text.split()) < 8:
            return 0.0
        scores = [
            next(
                (
                    c.score
                    for c in self._reading(clean(p), exclude).candidates
                    if c.entry.id == entry_id
                ),
                0.0,
            )
            for p in parts[-MAX_CLAUSES:]
        ]
        return max(scores)

    def _features(
        self,
        use: _Reading,
        clause: float,
        ranked: list[Candidate],
        by_item: bool,
        words: int,
    ) -> tuple[float, ...]:
        """What the decision model weighs; see bot.core.decision.FEATURES for each."""
        top = ranked[0] if ranked else None
        second = ranked[1].score if len(ranked) > 1 else 0.0
        tokens = use.tokens
        total = sum(t.weight for t in tokens) or 1.0
        known = [t for t in tokens if t.known_as is not None]
        content = [t for t in tokens if t.weight > STOP_WEIGHT]
        explained = rare = synonym = 0.0
        related = 0.0
        if top is not None:
            i = self._index[top.entry.id]
            bag = self._bags[i]
            hits = [t for t in known if (t.known_as or "") in bag]
            explained = sum(t.weight * t.similarity for t in hits) / total
            content_hits = [t for t in hits if t.weight > STOP_WEIGHT]
            rare = max((1.0 / self._df[t.known_as or ""] for t in content_hits), default=0.0)
            synonym = float(any(t.known_as in self._synonym_tokens for t in hits))
            if len(ranked) > 1:
                other = ranked[1].entry
                related = float(other.id in top.entry.related or top.entry.id in other.related)
        typo = sum(t.weight for t in known if t.known_as != t.word) / total
        score = top.score / 100 if top else 0.0
        return (
            score,
            score - second / 100,
            second / 100,
            math.log1p(len(content)),
            sum(t.weight for t in known) / total,
            explained,
            rare,
            float(rare == 1.0),
            float(use.exact),
            float(by_item),
            synonym,
            clause / 100,
            (clause - use.top) / 100,
            typo,
            math.log1p(words),
            related,
        )

    def _exact_hit(self, tokens: list[Token], exclude: int | None) -> list[Candidate]:
        """A question that is one of the phrasings (after normalisation) is a sure answer."""
        if any(t.known_as != t.word for t in tokens):
            return []
        k = self._exact.get(" ".join(sorted(t.word for t in tokens)))
        if k is None or k == exclude:
            return []
        p = self._phrasings[k]
        return [Candidate(self.knowledge.entries[p.entry], 100.0, p.text)]

    def _read(self, cleaned: str) -> list[Token]:
        """Each distinct word, with the known word it stands for and its weight."""
        out: list[Token] = []
        seen: set[str] = set()
        for surface, word in self._norm.terms(cleaned, known=self._weight):
            if word in seen:
                continue
            seen.add(word)
            if word in self._weight:
                out.append(Token(word, word, 1.0, self._weight[word]))
            elif self._norm.is_stopword(word) or surface in STOPWORDS:
                out.append(Token(word, None, 0.0, STOP_WEIGHT))
            else:
                out.append(self._correct(surface, word))
        return out

    def _correct(self, surface: str, word: str) -> Token:
        """Read a typo as the nearest known word; leave real English words alone."""
        unknown = Token(word, None, 0.0, self._unknown_weight * rarity(surface))
        if len(word) < 4 or word.isdigit() or not self._vocab or is_common(surface):
            return unknown
        cutoff = self.thresholds.fuzzy_cutoff + (5.0 if len(word) < 6 else 0.0)
        hit = process.extractOne(word, self._near(word), scorer=fuzz.ratio, score_cutoff=cutoff)
        if hit is None:
            return unknown
        known = hit[0]
        return Token(word, known, hit[1] / 100.0, self._weight[known])

    def _near(self, word: str) -> list[str]:
        """Known words a typo of ``word`` could be: same first letter (typos rarely touch it,
        except in long words) and a length the similarity cutoff can still reach."""
        size = len(word)
        firsts = {word[0]} if size < 7 else {c for c, _ in self._vocab}
        return [
            w
            for c in firsts
            for n in range(max(3, size - size // 3), size + size // 3 + 1)
            for w in self._vocab.get((c, n), ())
        ]

    def _score(self, tokens: list[Token], exclude: int | None) -> list[Candidate]:
        known = [t for t in tokens if t.known_as is not None]
        content = [t for t in known if t.known_as in self._postings]
        postings = self._postings
        if not content and all(t.known_as for t in tokens):  # "what can you do": all stopwords
            postings = self._stop_postings
            tokens = [
                Token(t.word, t.known_as, t.similarity, 1.0) if t.known_as else t for t in tokens
            ]
            known = content = [t for t in tokens if t.known_as in postings]
        total = sum(t.weight for t in tokens)
        if total <= 0 or not content:
            return []
        by_rarity = sorted(content, key=lambda t: len(postings[t.known_as or ""]))
        cap = self.thresholds.seed_cap
        seeds = [t for t in by_rarity if len(postings[t.known_as or ""]) <= cap] or by_rarity[:1]
        gained: dict[int, float] = {}
        for t in seeds:
            for k in postings[t.known_as or ""][: 4 * cap]:  # bounded work for generic words
                gained[k] = gained.get(k, 0.0) + t.weight * t.similarity
        extra = [t for t in known if t not in seeds]
        best: dict[int, tuple[float, int, float]] = {}
        beta2 = self.thresholds.beta**2
        for k, g in gained.items():
            if k == exclude:
                continue
            p = self._phrasings[k]
            g += sum(t.weight * t.similarity for t in extra if t.known_as in p.tokens)  # noqa: PLW2901
            recall = g / total
            precision = min(g / p.mass, 1.0) if p.mass else 0.0
            f = (1 + beta2) * recall * precision / (beta2 * precision + recall)
            if f > best.get(p.entry, (-1.0, -1, 0.0))[0]:
                best[p.entry] = (f, k, precision)
        blend = self.thresholds.blend
        ranked = []
        for i, (f, k, precision) in best.items():
            coverage = self._coverage(i, known, total, exclude)
            coverage *= precision**self.thresholds.gamma
            score = round(100 * (blend * f + (1 - blend) * coverage), 1)
            ranked.append(Candidate(self.knowledge.entries[i], score, self._phrasings[k].text))
        ranked.sort(key=lambda c: (-c.score, c.entry.id))
        return ranked

    def _coverage(self, i: int, known: Iterable[Token], total: float, exclude: int | None) -> float:
        """Share of the question's weight found anywhere in entry ``i``'s phrasings."""
        bag = self._bags[i]
        left_out = self._phrasings[exclude].tokens if exclude is not None else frozenset()
        same_entry = exclude is not None and self._phrasings[exclude].entry == i
        covered = 0.0
        for t in known:
            count = bag.get(t.known_as or "", 0)
            if same_entry and t.known_as in left_out:
                count -= 1
            if count > 0:
                covered += t.weight * t.similarity
        return covered / total

    def _promote_item(self, ranked: list[Candidate], item: int) -> list[Candidate]:
        entry = self.knowledge.by_action(item)
        if entry is None:
            return ranked
        current = next((c for c in ranked if c.entry.id == entry.id), None)
        score = max(ITEM_SCORE, current.score if current else 0.0)
        phrasing = current.phrasing if current else entry.question
        rest = [c for c in ranked if c.entry.id != entry.id]
        return [Candidate(entry, score, phrasing), *rest]

    def _decide(
        self, ranked: list[Candidate], strict: bool, features: tuple[float, ...]
    ) -> tuple[Status, float]:
        """The model's probability decides; without a model, the old score thresholds."""
        if not ranked:
            return Status.DECLINE, 0.0
        if self.model is None:
            status = self.decide_by_score(ranked, strict)
            return status, ranked[0].score / 100
        p = self.model.probability(features)
        cut = self.model.cutoffs
        if p >= (cut.strict if strict else cut.answer):
            return Status.ANSWER, p
        if p >= cut.suggest and ranked[0].score >= self.thresholds.suggest:
            return Status.UNSURE, p
        return Status.DECLINE, p

    def decide_by_score(self, ranked: list[Candidate], strict: bool) -> Status:
        """The hand-set rule the model replaced, kept as the benchmarks' baseline."""
        th = self.thresholds
        if not ranked:
            return Status.DECLINE
        top = ranked[0].score
        second = ranked[1].score if len(ranked) > 1 else 0.0
        needed = th.answer + (th.strict_bonus if strict else 0.0)
        if top >= needed and (top - second >= th.margin or top >= th.sure):
            return Status.ANSWER
        if top >= th.suggest:
            return Status.UNSURE
        return Status.DECLINE
