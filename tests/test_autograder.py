"""The Gradescope bundle without installing it: the zip's layout, the options it carries, the
results.json documents (validated against Gradescope's documented schema) and run.py's promise to
always write one.  The installed round trip is tests/test_autograder_roundtrip.py."""

from __future__ import annotations

import json
import re
import stat
import zipfile
from pathlib import Path

import pytest

jsonschema = pytest.importorskip("jsonschema")  # the `test` extra

from gradcheck.cli.main import main  # noqa: E402
from gradcheck.deploy import run  # noqa: E402
from gradcheck.deploy.gradescope import build_zip  # noqa: E402
from gradcheck.deploy.results import Settings, failure_document, results_document  # noqa: E402
from gradcheck.grading.grade import grade_submission  # noqa: E402

HERE = Path(__file__).resolve().parent
SUBS = HERE / "submissions"
SCHEMA = json.loads((HERE / "schemas" / "gradescope_results.schema.json").read_text())


def validate(doc: dict) -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    jsonschema.Draft202012Validator(SCHEMA).validate(doc)


def test_the_schema_refuses_what_gradescope_would():
    validate({"score": 1.0})
    validate({"tests": [{"score": 1.0, "max_score": 2.0, "status": "passed", "tags": ["a"], "number": "1.1"}]})
    for bad in (
        {},  # no score anywhere
        {"tests": [{"max_score": 1.0}]},  # no score on a test, none at the top
        {"score": 1.0, "visibility": "public"},
        {"score": 1.0, "tests": [{"score": 1, "status": "ok"}]},
        {"score": 1.0, "output_format": "markdown"},
        {"score": "100"},
        {"score": 1.0, "tests": [{"score": 1, "number": 1}]},
        {"score": 1.0, "leaderboard": [{"name": "accuracy"}]},
        {"score": 1.0, "scores": 1.0},  # a typo
    ):
        with pytest.raises(jsonschema.ValidationError):
            validate(bad)


@pytest.fixture(scope="module")
def graded():
    return {
        name: grade_submission(SUBS / kind / f"{name}.py")
        for kind, name in (("correct", "sigmoid"), ("buggy", "sign_flip"))
    }


def test_results_document_scales_to_the_points_and_names_files(graded):
    settings = Settings(points=20, visibility="after_due_date", test_visibility="hidden")
    one = results_document([graded["sigmoid"]], ["hw.py"], settings, execution_time=1.5)
    validate(one)
    assert one["score"] == 20 and sum(t["max_score"] for t in one["tests"]) == pytest.approx(20)
    assert one["visibility"] == "after_due_date" and {t["visibility"] for t in one["tests"]} == {"hidden"}
    assert one["stdout_visibility"] == "hidden" and one["execution_time"] == 1.5
    both = results_document(
        [graded["sign_flip"], graded["sigmoid"]], ["a/hw.py", "b/hw.py"], settings, execution_time=3.0
    )
    validate(both)
    assert both["score"] == 20  # the best file's
    assert both["output"].startswith("2 files were graded; your score is the best file's, `b/hw.py`")
    assert {t["name"].split(":")[0] for t in both["tests"]} == {"a/hw.py", "b/hw.py"}
    assert both["tests"][0]["number"] == "1.1" and both["tests"][-1]["tags"] == ["file 2"]
    buggy = results_document([graded["sign_flip"]], ["hw.py"], Settings(), execution_time=1.0)
    assert 0 < buggy["score"] < 100 and "sign" in buggy["output"]


def test_hostile_file_names_reach_results_json_sanitised(graded):
    """A file name is the student's text: no control character, surrogate or markup in any field."""
    names = ["a/\x1b[2J`x`\n## forged.py", "b/\udcff<script>.py"]
    doc = results_document([graded["sign_flip"], graded["sigmoid"]], names, Settings(), execution_time=1.0)
    validate(doc)
    text = json.dumps(doc, ensure_ascii=False)
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]", text.replace("\\n", ""))
    shown = ["a/\ufffd[2J`x`\ufffd## forged.py", "b/\ufffd<script>.py"]
    assert [f["name"] for f in doc["extra_data"]["files"]] == shown
    assert not [line for line in doc["output"].splitlines() if line.startswith("## forged")]
    assert "``a/\ufffd[2J`x`\ufffd## forged.py``" in doc["output"]  # one inline code span: shown literally


def test_nothing_to_grade_and_failures_are_valid_documents():
    empty = results_document([], [], Settings(points=10), execution_time=0.1)
    validate(empty)
    assert empty["score"] == 0 and "No .py or .ipynb file" in empty["output"]
    validate(failure_document("x", Settings(visibility="hidden")))


def _root(tmp_path: Path, config: dict, files: dict[str, bytes]) -> Path:
    root = tmp_path / "autograder"
    (root / "source").mkdir(parents=True)
    (root / "source" / run.CONFIG_NAME).write_text(json.dumps({"format": 1, **config}))
    for name, data in files.items():
        (root / "submission" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "submission" / name).write_bytes(data)
    return root


def _run(root: Path, monkeypatch) -> dict:
    monkeypatch.setenv(run.ROOT_VARIABLE, str(root))
    assert run.main([]) == 0
    doc = json.loads((root / "results" / "results.json").read_text())
    validate(doc)
    return doc


def test_run_grades_every_file_in_the_submission_folder(tmp_path, monkeypatch, capsys):
    correct = (SUBS / "correct" / "sigmoid.py").read_bytes()
    root = _root(
        tmp_path,
        {"points": 10, "visibility": "visible", "test_visibility": "after_published"},
        {"hw.py": correct, "extra/notes.txt": b"not graded", ".ipynb_checkpoints/hw-checkpoint.py": b"import os"},
    )
    doc = _run(root, monkeypatch)
    assert doc["score"] == 10 and {t["visibility"] for t in doc["tests"]} == {"after_published"}
    assert [f["name"] for f in doc["extra_data"]["files"]] == ["hw.py"]
    assert "'hw.py': graded 100/100" in capsys.readouterr().out  # the instructor's log


def test_run_writes_results_when_grading_itself_fails(tmp_path, monkeypatch, capsys):
    root = _root(tmp_path, {"points": 10, "contract": "missing.py"}, {"hw.py": b"x = 1\n"})
    doc = _run(root, monkeypatch)
    assert doc["score"] == 0 and doc["output"].startswith("The autograder failed (ContractError)")
    assert "Traceback" in capsys.readouterr().out and "Traceback" not in doc["output"]
    (root / "source" / run.CONFIG_NAME).write_text("{not json")
    doc = _run(root, monkeypatch)
    assert doc["score"] == 0 and "JSONDecodeError" in doc["output"]


def test_run_with_an_empty_submission(tmp_path, monkeypatch):
    root = _root(tmp_path, {}, {"answer.txt": b"42"})
    doc = _run(root, monkeypatch)
    assert doc["score"] == 0 and "No .py or .ipynb file" in doc["output"]


def test_the_zip_layout_and_its_options(tmp_path):
    wheel = tmp_path / "gradcheck-0.1.0-py3-none-any.whl"
    wheel.write_bytes(b"stand-in")
    adapter = HERE.parent / "examples" / "contracts" / "transposed_weights.py"
    settings = Settings(points=50, visibility="after_due_date", test_visibility="hidden")
    bundle = build_zip(
        tmp_path / "out",
        settings=settings,
        activation="relu",
        timeout=5,
        contract=str(adapter),
        requirements=("matplotlib>=3",),
        wheel=wheel,
    )
    assert bundle.path == tmp_path / "out" / "autograder.zip" and bundle.size == bundle.path.stat().st_size
    with zipfile.ZipFile(bundle.path) as zf:
        names = zf.namelist()
        assert {"setup.sh", "run_autograder", wheel.name, "contract.py", "requirements.txt", run.CONFIG_NAME} == set(
            names
        )
        assert all("/" not in n for n in names)  # everything at the zip's root
        for script in ("setup.sh", "run_autograder"):
            info = zf.getinfo(script)
            assert stat.S_IMODE(info.external_attr >> 16) == 0o755
            assert zf.read(script).startswith(b"#!/usr/bin/env bash\n")
        config = json.loads(zf.read(run.CONFIG_NAME))
        assert zf.read("contract.py") == adapter.read_bytes()
        assert zf.read("requirements.txt") == b"matplotlib>=3\n"
    assert config == {
        "format": 1,
        "points": 50,
        "visibility": "after_due_date",
        "test_visibility": "hidden",
        "stdout_visibility": "hidden",
        "activation": "relu",
        "timeout": 5,
        "memory_mb": 1024,
        "seed": 0,
        "isolation": "auto",
        "contract": "contract.py",
    }


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--visibility", "public"], "invalid choice: 'public'"),
        (["--points", "0"], "expected a number ≥ 1e-09"),
        (["--activation", "nope"], "activation"),
        (["--contract", "nope.py"], "--contract nope.py: no such file"),
        (["--wheel", "nope.whl"], "wheel: expected a gradcheck-*.whl file"),
        (["--pip-install=--index-url=http://x"], "requirements: expected package specifiers"),
        (["--out", "/dev/null/x"], "--out /dev/null/x: cannot create this folder"),
    ],
)
def test_cli_refuses_bad_options(tmp_path, capsys, argv, message):
    out = ["--out", str(tmp_path)] if "--out" not in argv else []
    err = cli_error(["autograder", "gradescope", *out, *argv], capsys)
    assert message in err
    assert not (tmp_path / "autograder.zip").exists()


def cli_error(argv: list[str], capsys) -> str:
    """Run the command; it must exit 2 with a message and no traceback: that message."""
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own usage errors
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err, err
    return err


def test_a_symlink_in_the_submission_does_not_leak_what_it_points_to(tmp_path, monkeypatch):
    """A student's zip may carry symlinks; the grader reads files with its own rights, and a
    SyntaxError shows the offending line: hw.py -> a file of the grader's must not be graded."""
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET LINE 7f3a\n")
    root = _root(tmp_path, {}, {"real.py": (SUBS / "correct" / "sigmoid.py").read_bytes()})
    (root / "submission" / "hw.py").symlink_to(secret)
    (root / "submission" / "linked").symlink_to(tmp_path, target_is_directory=True)
    doc = _run(root, monkeypatch)
    assert "7f3a" not in json.dumps(doc)
    assert [f["name"] for f in doc["extra_data"]["files"]] == ["real.py"]


def test_at_most_max_files_are_graded_and_the_student_is_told(tmp_path, monkeypatch):
    files = {f"f{i}.py": b"x = 1\n" for i in range(run.MAX_FILES + 2)}
    doc = _run(_root(tmp_path, {}, files), monkeypatch)
    assert len(doc["extra_data"]["files"]) == run.MAX_FILES
    assert doc["output"].startswith(f"Your submission has {run.MAX_FILES + 2} .py/.ipynb files; only the first")
