"""``eln-bot check`` and ``eln-bot eval``: is the knowledge sound, and how well does it answer?"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.cli.ask import matcher_for
from bot.cli.boundary import UsageError, printable
from bot.cli.progress import Progress
from bot.config import Settings
from bot.core.decision import MODEL_NAME
from bot.core.evaluation import evaluate, fit_model, format_report, load_labelled
from bot.core.matching import Confusion, Matcher
from bot.errors import BotError, ExitCode
from bot.storage.files import write_atomic
from bot.storage.loading import load_for_check


def check(args: argparse.Namespace, settings: Settings) -> int:
    """OK when the knowledge loads; FAILED on errors, or warnings/confusions when asked to.

    The last line is the one verdict, OK or FAILED, never both.
    """
    with Progress(sys.stderr, "eln-bot check") as progress:
        progress.stage(f"loading {args.path or 'the knowledge'}")
        knowledge, problems, label = load_for_check(settings, args.path)
        phrasings = sum(len(e.phrasings) for e in knowledge.entries)
        progress.stage(f"indexing {phrasings} phrasings")
        matcher = Matcher(knowledge)
        confusions = matcher.confusable(
            lambda done, total: progress.count("leaving out each phrasing in turn", done, total)
        )
    warnings = [p for p in problems if p.severity == "warning"]
    for warning in warnings:
        print(printable(str(warning)))
    _print_confusions(label, confusions)
    for pair in matcher.sibling_pairs(confusions):
        print(
            f"{label}: siblings '{pair.first}' and '{pair.second}' take each other's phrasings "
            f"({pair.first_to_second} one way, {pair.second_to_first} the other)"
        )
    failed_by = [  # the options that made a finding an error, for the verdict
        *(["--strict"] if args.strict and warnings else []),
        *(["--confusable-error"] if args.confusable_error and confusions else []),
    ]
    verdict = f"FAILED ({', '.join(failed_by)})" if failed_by else "OK"
    print(
        f"{label}: {verdict}, {len(knowledge.entries)} entries, {phrasings} phrasings, "
        f"{len(knowledge.synonyms)} synonym groups; {len(warnings)} warning(s), "
        f"{len(confusions)} confusable phrasing(s)"
    )
    return ExitCode.FAILED if failed_by else ExitCode.OK


def _print_confusions(label: str, confusions: list[Confusion]) -> None:
    """What was tested first, then one line a phrasing: a confusable phrasing is a finding
    about wording two entries share; only one its own entry loses even in place is a wrong
    answer a member would get."""
    if not confusions:
        return
    total = len(confusions)
    kept = sum(c.answered_in_place for c in confusions)
    if kept == total:
        in_place = "each is still answered by its own entry: the answers work"
    else:
        lost = total - kept
        in_place = (
            f"{kept} of {total} are still answered by their own entry and {lost} "
            f"{'is' if lost == 1 else 'are'} not (marked 'even in place'): members asking "
            f"{'it' if lost == 1 else 'those'} get another answer or none"
        )
    print(
        f"{label}: confusable phrasings: each phrasing was left out of its own entry and "
        f"matched against the rest; {total} landed on another entry, so wording close to "
        f"them may too. With every phrasing in place, {in_place}."
    )
    for c in confusions:
        line = (
            f"{label}: entry '{c.entry_id}': confusable: phrasing {c.phrasing!r}, left out of "
            f"its own entry, lands on '{c.landed_on}' (score {c.score:.0f})"
        )
        if not c.answered_in_place:
            line += (
                f"; even in place it is answered by '{c.in_place}'"
                if c.in_place is not None
                else "; even in place nothing answers it"
            )
        print(line)


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
