"""What Gradescope's ``run_autograder`` runs: ``python -m gradcheck.deploy.run``.

Grades every .py and .ipynb under ``ROOT/submission`` with the options the bundle was built with
(``ROOT/source/gradcheck_autograder.json``), in the sandbox, and ALWAYS writes
``ROOT/results/results.json`` (atomically): when grading itself fails the student gets a score of 0
and a plain message, and the traceback goes to stdout, which only the instructor sees.
``ROOT`` is ``$GRADCHECK_AUTOGRADER_ROOT``, by default ``/autograder``.

``--check`` (run by setup.sh) prints the version and the sandbox mode this machine allows.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from pathlib import Path

from gradcheck.deploy.results import Settings, failure_document, results_document
from gradcheck.grading.files import collect_paths
from gradcheck.grading.grade import grade_many
from gradcheck.reports.text import write

__all__ = ["ROOT_VARIABLE", "DEFAULT_ROOT", "CONFIG_NAME", "MAX_FILES", "root", "load_config", "grade_folder", "main"]

ROOT_VARIABLE = "GRADCHECK_AUTOGRADER_ROOT"
DEFAULT_ROOT = "/autograder"
CONFIG_NAME = "gradcheck_autograder.json"
MAX_FILES = 5  # files graded per submission
GRADER_FAILED = (
    "The autograder failed ({kind}) before it could grade your submission. This is a problem with the "
    "grader, not necessarily with your code: please tell your instructor. Your submission is kept and "
    "can be regraded."
)


def root() -> Path:
    return Path(os.environ.get(ROOT_VARIABLE) or DEFAULT_ROOT)


def load_config(path: Path) -> dict:
    config = json.loads(Path(path).read_text(encoding="utf-8"))
    if config.get("format") != 1:
        raise ValueError(f"{path}: expected format 1, got {config.get('format')!r}")
    return config


def settings_of(config: dict) -> Settings:
    keys = Settings._fields
    return Settings(**{k: config[k] for k in keys if k in config})


def grade_folder(folder: Path, config: dict, source: Path, *, start: float) -> dict:
    """Grade every submission file under ``folder``; the results.json document."""
    found = collect_paths([folder]) if folder.is_dir() else []
    files = found[:MAX_FILES]  # each may run to its timeout: the run must end within Gradescope's limit
    contract = config.get("contract", "ftml")
    if contract != "ftml":
        contract = str(source / contract)  # an adapter file shipped in the bundle
    results = grade_many(
        files,
        jobs=1,  # Gradescope gives a container about half a CPU
        contract=contract,
        seed=config.get("seed", 0),
        activation=config.get("activation"),
        timeout=config.get("timeout", 10.0),
        memory_mb=config.get("memory_mb", 1024),
        isolation=config.get("isolation", "auto"),
    )
    names = [f.relative_to(folder).as_posix() for f in files]
    for name, r in zip(names, results):  # the instructor's log (stdout)
        print(f"{name!r}: {r.status} {r.score:g}/{r.max_score:g} {r.activation} ({r.isolation}) {r.message[:300]!r}")
    doc = results_document(results, names, settings_of(config), execution_time=time.monotonic() - start)
    if len(found) > len(files):
        doc["output"] = (
            f"Your submission has {len(found)} .py/.ipynb files; only the first {MAX_FILES} (by path) were "
            f"graded. Submit only your solution.\n\n" + doc["output"]
        )
    return doc


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    top = root()
    if argv == ["--check"]:
        from gradcheck.grading.sandbox.runner import namespaces_available

        ok, why = namespaces_available()
        print(f"gradcheck sandbox: {'namespaces' if ok else 'session (no user namespaces here: ' + why[:200] + ')'}")
        return 0
    start = time.monotonic()
    config: dict = {}
    try:
        config = load_config(top / "source" / CONFIG_NAME)
        doc = grade_folder(top / "submission", config, top / "source", start=start)
    except BaseException as exc:  # whatever happens, the student gets a results.json
        traceback.print_exc(file=sys.stdout)
        try:
            settings = settings_of(config)
        except Exception:
            settings = Settings()
        doc = failure_document(GRADER_FAILED.format(kind=type(exc).__name__), settings, execution_time=0.0)
    write(top / "results", {"results.json": json.dumps(doc, indent=2, ensure_ascii=False)})
    print(f"gradcheck: score {doc['score']:g}; wrote {top / 'results' / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
