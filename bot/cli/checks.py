"""``eln-bot check`` and ``eln-bot eval``: is the knowledge sound, and how well does it answer?"""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.cli.ask import matcher_for
from bot.cli.boundary import UsageError, printable
from bot.config import Settings
from bot.core.decision import MODEL_NAME
from bot.core.evaluation import evaluate, fit_model, format_report, load_labelled
from bot.core.knowledge import Knowledge
from bot.core.matching import Matcher
from bot.errors import BotError, ExitCode
from bot.storage.files import write_atomic
from bot.storage.loading import load_for_check


def check(args: argparse.Namespace, settings: Settings) -> int:
    """OK when the knowledge loads; FAILED on errors, or warnings/confusions when asked to."""
    knowledge, problems, label = load_for_check(settings, args.path)
    matcher = Matcher(knowledge)
    confusions = matcher.confusable()
    warnings = [p for p in problems if p.severity == "warning"]
    for warning in warnings:
        print(printable(str(warning)))
    for c in confusions:
        print(
            f"{label}: entry '{c.entry_id}': confusable: phrasing {c.phrasing!r}, left out of "
            f"its own entry, lands on '{c.landed_on}' ({c.score:.0f})"
        )
    for pair in matcher.sibling_pairs(confusions):
        print(
            f"{label}: siblings '{pair.first}' and '{pair.second}' take each other's phrasings "
            f"({pair.first_to_second} one way, {pair.second_to_first} the other)"
        )
    failed = (args.strict and warnings) or (args.confusable_error and confusions)
    summary = _summary(knowledge, label, len(warnings), len(confusions))
    print(("FAILED: " if failed else "") + summary)
    return ExitCode.FAILED if failed else ExitCode.OK


def _summary(knowledge: Knowledge, label: str, warnings: int, confusions: int) -> str:
    phrasings = sum(len(e.phrasings) for e in knowledge.entries)
    return (
        f"{label}: OK, {len(knowledge.entries)} entries, {phrasings} phrasings, "
        f"{len(knowledge.synonyms)} synonym groups; {warnings} warning(s), "
        f"{confusions} confusable phrasing(s)"
    )


def evaluate_set(args: argparse.Namespace, settings: Settings) -> int:
    """Print the report: OK once printed; USAGE when the file is not a labelled set."""
    try:
        labelled = load_labelled(args.file)
    except BotError as exc:  # not a labelled set: a usage error, in one line
        raise UsageError(str(exc)) from None
    report = evaluate(matcher_for(args, settings), labelled)
    print(format_report(report, show_misses=not args.quiet))
    return ExitCode.OK


def calibrate(args: argparse.Namespace, settings: Settings) -> int:
    """Refit the decision model for this knowledge on the operator's labelled questions."""
    path: Path = args.knowledge or settings.knowledge_path
    knowledge, _, label = load_for_check(settings, args.knowledge)
    try:
        sets = [load_labelled(file) for file in args.files]
    except BotError as exc:
        raise UsageError(str(exc)) from None
    model = fit_model(knowledge, sets)
    output: Path = args.output or path.with_name(MODEL_NAME)
    write_atomic(output, model.to_json().encode("utf-8"))
    report = model.report
    print(
        f"fitted on {report['questions']} questions ({report['in_scope']} in scope) for "
        f"{label}: cross-validated log loss {report['cv_log_loss']}, calibration error "
        f"{float(str(report['cv_ece'])):.1%}; answers from p >= {model.cutoffs.answer:.2f}, "
        f"unprompted from p >= {model.cutoffs.strict:.2f}"
    )
    print(f"wrote {output}")
    return ExitCode.OK
