"""pytest plugin (``pytest11`` entry point ``gradcheck``): ``pytest --submission FILE``.

Grades each submission with exactly the checks of ``gradcheck grade`` and turns every
check into one test item, ``FILE::CHECK`` (marker ``gradcheck``), which
passes only with full points; the failure shows the score, the message and the
diagnosis, and the score is recorded as a JUnit property.  Each submission runs in
the sandbox once, when its first item runs.  Without ``--submission`` the plugin only
registers its options: nothing is imported, collected or reported.

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

from pathlib import Path

import pytest

_RESULTS = pytest.StashKey[dict]()


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


def pytest_configure(config):
    if _active(config):
        config.addinivalue_line("markers", "gradcheck: a check of a graded student submission")
        config.stash[_RESULTS] = {}


def pytest_report_header(config):
    if not _active(config):
        return None
    o = config.option
    return (
        f"gradcheck: {len(o.submission)} submission(s), contract {o.submission_contract}, activation "
        f"{o.submission_activation or 'detected'}, seed {o.submission_seed} "
        f"(replay: --submission-seed={o.submission_seed})"
    )


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session, config, items):
    if not _active(config):
        return
    for path in config.option.submission:
        items.extend(SubmissionFile.from_parent(session, path=Path(path).absolute()).collect())


class SubmissionFile(pytest.File):
    """A student file: one item per check (made here, not by pytest's own collection)."""

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

    def _result(self):
        cache = self.config.stash[_RESULTS]
        if self.path_arg not in cache:
            from gradcheck.grading.grade import grade_submission

            o = self.config.option
            cache[self.path_arg] = grade_submission(
                self.path_arg,
                contract=o.submission_contract,
                seed=o.submission_seed,
                activation=o.submission_activation,
                timeout=o.submission_timeout,
                memory_mb=o.submission_memory_mb,
                isolation=o.submission_isolation,
            )
        return cache[self.path_arg]

    def runtest(self):
        if not Path(self.path_arg).is_file():
            raise CheckFailed(f"no such submission file: {self.path_arg}")
        result = self._result()
        check = next(c for c in result.checks if c.name == self.name)
        self.user_properties += [("score", check.score), ("max_score", check.points), ("status", result.status)]
        if not check.passed:
            lines = [f"{check.title}: {check.score:g}/{check.points:g} — {check.message}"]
            if result.status != "graded":
                lines.append(f"submission status: {result.status} ({result.message})")
            lines += [f"diagnosis: {m}: {msg}" for m, msg in result.diagnosis]
            raise CheckFailed("\n".join(lines))

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, CheckFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self):
        return self.path_arg, None, f"{self.path_arg}::{self.name} ({self.title}, {self.points:g} points)"


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not _active(config) or not config.stash.get(_RESULTS, None):
        return
    from gradcheck.reports.grading import summary_table

    terminalreporter.section("gradcheck scores")
    terminalreporter.write_line(summary_table(list(config.stash[_RESULTS].values())))
