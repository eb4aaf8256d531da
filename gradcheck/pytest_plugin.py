"""pytest plugin (``pytest11`` entry point ``gradcheck``): ``pytest --submission FILE``.

Grades each submission with exactly the checks of ``gradcheck grade`` and turns every
check into one test item, ``FILE::CHECK`` (marker ``gradcheck``), which
passes only with full points; the failure shows the score, the message and the
diagnosis, and the score is recorded as a JUnit property.  Each submission runs in
the sandbox once, when its first item runs.  Without ``--submission`` the plugin only
registers its options: nothing is imported, collected or reported.

With ``--submission`` the run is a grading run, the same from the repository root as from
anywhere else: its items are the submissions' checks and nothing else.  Pytest collects no test
file and loads no ``conftest.py`` (as with ``--noconftest``), so a submission is never imported in
pytest's own process, whatever its name (``test_*.py``, ``conftest.py``) or folder: its code runs
only in the sandbox, through :func:`gradcheck.grading.grade.grade_submission`, exactly as
``gradcheck grade`` runs it.  Test paths on the command line are refused (run other tests in a
separate pytest call).  Everything shown (node ids, failure text, the score table) passes
:mod:`gradcheck.reports.sanitise`: one line per student text, no control character.

Options (group "gradcheck")::

    --submission FILE              repeatable
    --submission-activation A      NAME or HIDDEN,OUTPUT (default: detected)
    --submission-contract C        ftml (default) or an adapter .py file
    --submission-timeout S         seconds per sandbox run (default 10)
    --submission-memory-mb M       address-space limit (default 1024)
    --submission-seed N            problem-set seed (default 0), printed in the header
    --submission-isolation MODE    auto (default), namespaces, session
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gradcheck.reports.sanitise import clean_path, clean_result, one_line

_RESULTS = pytest.StashKey[dict]()
_ERRORS = pytest.StashKey[dict]()
SHOWN = 2000  # characters of one message in a failure


def pytest_addoption(parser):
    group = parser.getgroup("gradcheck", "grade student submissions with gradcheck")
    group.addoption(
        "--submission",
        action="append",
        default=[],
        metavar="FILE",
        help="grade this student file: one test per check (repeatable)",
    )
    group.addoption(
        "--submission-activation",
        default=None,
        metavar="A",
        help="NAME or HIDDEN,OUTPUT (default: detected from the student's forward pass)",
    )
    group.addoption(
        "--submission-contract",
        default="ftml",
        metavar="C",
        help="ftml (default) or the path of a contract adapter .py file",
    )
    group.addoption(
        "--submission-timeout", type=float, default=10.0, metavar="S", help="seconds per sandbox run (default 10)"
    )
    group.addoption(
        "--submission-memory-mb",
        type=int,
        default=1024,
        metavar="M",
        help="address-space limit of the sandbox (default 1024)",
    )
    group.addoption("--submission-seed", type=int, default=0, metavar="N", help="problem-set seed (default 0)")
    group.addoption(
        "--submission-isolation",
        default="auto",
        choices=("auto", "namespaces", "session"),
        help="sandbox mode (default auto)",
    )


def _active(config) -> bool:
    return bool(config.getoption("submission", default=None))


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args):
    """Before any conftest.py is imported: a grading run imports none (one could be the submission)."""
    ns = early_config.known_args_namespace
    if not getattr(ns, "submission", None):
        return
    if ns.file_or_dir:
        raise pytest.UsageError(
            "--submission runs only the submission's checks; test paths given as well: "
            + ", ".join(one_line(clean_path(a), limit=80) for a in ns.file_or_dir)
            + " (run them in a separate pytest call)"
        )
    ns.noconftest = True


@pytest.hookimpl(tryfirst=True)
def pytest_collection(session):
    """A grading run collects nothing from disk: its items are made in pytest_collection_modifyitems."""
    if not _active(session.config):
        return None
    session.perform_collect(args=[])
    return True


def pytest_ignore_collect(collection_path, config):
    """Belt and braces: should anything still walk the disk in a grading run, it collects nothing."""
    return True if _active(config) else None


def pytest_configure(config):
    if _active(config):
        config.addinivalue_line("markers", "gradcheck: a check of a graded student submission")
        config.stash[_RESULTS] = {}


def pytest_report_header(config):
    if not _active(config):
        return None
    o = config.option
    return (
        f"gradcheck: {len(o.submission)} submission(s), contract {one_line(o.submission_contract, limit=200)}, "
        f"activation {one_line(o.submission_activation or 'detected', limit=40)}, seed {o.submission_seed} "
        f"(replay: --submission-seed={o.submission_seed})"
    )


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session, config, items):
    if not _active(config):
        return
    for path in config.option.submission:
        shown = one_line(clean_path(path), limit=200)  # the node id: one line, as typed, no control character
        node = SubmissionFile.from_parent(session, path=Path(os.path.abspath(path)), name=shown, nodeid=shown)
        made = list(node.collect())
        config.hook.pytest_collectreport(report=pytest.CollectReport(node.nodeid, "passed", None, made))  # counted
        items.extend(made)


class SubmissionFile(pytest.File):
    """A student file: one item per check (made here, never imported: pytest's own collection is off)."""

    def collect(self):
        from gradcheck.grading.checks import CHECKS

        for name, title, points, _ in CHECKS:
            item = SubmissionCheck.from_parent(self, name=name, title=title, points=points)
            item.add_marker("gradcheck")
            yield item


class CheckFailed(Exception):
    pass


class SubmissionCheck(pytest.Item):
    def __init__(self, *, title: str, points: float, **kwargs):
        super().__init__(**kwargs)
        self.path_arg, self.title, self.points = str(self.path), title, points
        self.shown = self.parent.name

    def _result(self):
        cache, errors = self.config.stash[_RESULTS], self.config.stash.setdefault(_ERRORS, {})
        if self.path_arg not in cache and self.path_arg not in errors:
            from gradcheck.grading.grade import grade_submission
            from gradcheck.grading.sandbox.runner import SandboxUnavailable

            o = self.config.option
            try:
                cache[self.path_arg] = grade_submission(
                    self.path_arg,
                    contract=o.submission_contract,
                    seed=o.submission_seed,
                    activation=o.submission_activation,
                    timeout=o.submission_timeout,
                    memory_mb=o.submission_memory_mb,
                    isolation=o.submission_isolation,
                )
            except (SandboxUnavailable, ValueError, OSError):
                raise  # the environment or the options, not this submission
            except Exception as exc:  # a grader error: said on one line, never a traceback of student text
                errors[self.path_arg] = one_line(f"grader error: {type(exc).__name__}: {exc}", limit=SHOWN)
        if self.path_arg in errors:
            raise CheckFailed(errors[self.path_arg])
        return cache[self.path_arg]

    def runtest(self):
        if not Path(self.path_arg).is_file():
            raise CheckFailed(f"no such submission file: {self.shown}")
        result = clean_result(self._result())
        check = next(c for c in result.checks if c.name == self.name)
        self.user_properties += [("score", check.score), ("max_score", check.points), ("status", result.status)]
        if not check.passed:
            lines = [f"{check.title}: {check.score:g}/{check.points:g} — {one_line(check.message, limit=SHOWN)}"]
            if result.status != "graded":
                lines.append(f"submission status: {result.status} ({one_line(result.message, limit=SHOWN)})")
            lines += [
                f"diagnosis: {one_line(m, limit=80)}: {one_line(msg, limit=SHOWN)}" for m, msg in result.diagnosis
            ]
            raise CheckFailed("\n".join(lines))

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, CheckFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self):
        return self.shown, None, f"{self.shown}::{self.name} ({self.title}, {self.points:g} points)"


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not _active(config) or not config.stash.get(_RESULTS, None):
        return
    from gradcheck.reports.grading import summary_table

    terminalreporter.section("gradcheck scores")
    terminalreporter.write_line(summary_table(list(config.stash[_RESULTS].values())))
