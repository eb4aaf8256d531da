"""The grading sandbox against well-behaved and hostile submissions.

Every hostile submission must be contained: the right status, no process left
behind (checked by scanning /proc for markers), nothing changed outside its
directory, and the temporary directory removed.  Namespace-only guarantees are
skipped (and the 'session' fallback tested instead) only where the namespace probe
fails.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import numpy as np
import pytest
from proc_scan import live_with

from gradcheck.grading import Call, SandboxUnavailable, namespaces_available, run_submission
from gradcheck.grading.sandbox import runner as sandbox
from gradcheck.grading.sandbox.pipes import OUTPUT_QUOTA

HERE = Path(__file__).resolve().parent
SUBS = HERE / "submissions" / "hostile"
REPO = HERE.parent
NS_OK, NS_WHY = namespaces_available()
MODE = "namespaces" if NS_OK else "session"
needs_ns = pytest.mark.skipif(not NS_OK, reason=f"namespaces unavailable: {NS_WHY}")


@pytest.fixture(autouse=True)
def private_tmp(tmp_path, monkeypatch):
    """Sandboxes are made under a private directory that must be empty afterwards,
    with no process left that names it."""
    box_parent = tmp_path / "sandboxes"
    box_parent.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(box_parent))
    yield box_parent
    assert os.listdir(box_parent) == []
    assert live_with(str(box_parent)) == []


def run(name: str, calls, **kw):
    kw.setdefault("timeout", 5.0)
    try:
        return run_submission(SUBS / f"{name}.py", calls, **kw)
    except SandboxUnavailable as exc:  # no namespaces and no safe fallback on this machine
        pytest.skip(str(exc))


@pytest.fixture
def session_mode(monkeypatch):
    """The fallback, made runnable here for benign tests only: when root cannot hand the
    child to nobody it would run as a capability-less root, which can still write
    root-owned files, so hostile-write submissions must never run under it."""
    monkeypatch.setattr(sandbox, "ALLOW_ROOT_SESSION", True)


def net_args(seed=0, n=3, d=2, m=4):
    rng = np.random.default_rng(seed)
    return {"X": rng.normal(size=(n, d)), "wh": rng.normal(size=(d + 1, m)), "theta": rng.normal(size=m + 1)}


def load_benign():
    spec = importlib.util.spec_from_file_location("benign_in_parent", SUBS / "benign_roundtrip.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ----------------------------------------------------------------- normal runs
def test_round_trip_returns_exactly_what_was_computed():
    args = net_args()
    rng = np.random.default_rng(1)
    grad_args = {"x": rng.normal(size=2), "y": 0.25, "wh": args["wh"], "theta": args["theta"]}
    result = run("benign_roundtrip", [Call("forward_pass", args, "fwd"), Call("compute_gradients", grad_args, "grad")])
    assert (result.status, result.isolation, result.import_error) == ("ok", MODE, None)
    assert result.returncode == 0 and result.message == ("" if NS_OK else result.message)
    expected = load_benign()
    for cid, want in (("fwd", expected.forward_pass(**args)), ("grad", expected.compute_gradients(**grad_args))):
        got = result.calls[cid]
        assert got.status == "ok" and set(got.values) == set(want)
        for key, value in got.values.items():
            assert type(value) is np.ndarray and value.dtype == np.float64
            assert np.array_equal(value, np.asarray(want[key], dtype=np.float64))


def test_arguments_arrive_with_their_types():
    ints = np.arange(6, dtype=np.int64).reshape(2, 3)
    result = run("benign_roundtrip", [Call("echo", {"a": ints, "s": 2.5, "i": 7, "l": [1.0, 2.0]}, "e")])
    values = result.calls["e"].values
    assert result.status == "ok"
    assert np.array_equal(values["a"], ints) and values["s"] == 2.5 and values["i"] == 7
    assert np.array_equal(values["l"], [1.0, 2.0]) and list(values["types"]) == [1.0, 1.0, 1.0]


def test_child_environment():
    result = run("benign_roundtrip", [Call("introspect", {}, "i")])
    v = {k: float(a) for k, a in result.calls["i"].values.items()}
    seeded = subprocess.run(
        [sys.executable, "-c", "print(hash('abc') % 1000003)"],
        env={"PYTHONHASHSEED": "0"},
        capture_output=True,
        text=True,
    )
    assert v["hash_abc"] == int(seeded.stdout)
    assert v["no_user_site"] == 1 and v["safe_path"] == 1 and v["cwd_is_home"] == 1
    assert v["gradcheck_on_path"] == 0 and v["nofile"] == sandbox.NOFILE
    if NS_OK:  # in its own pid namespace, as nobody, child of the trusted pid 1 that copies results out
        assert (v["uid"], v["gid"], v["pid"], v["ppid"]) == (65534, 65534, 2, 1)
        assert v["visible_pids"] <= 3


def test_per_call_errors_do_not_stop_the_run():
    calls = [
        Call("fail", {"code": 7}, "f"),
        Call("not_a_dict", {}, "n"),
        Call("missing_function", {}, "m"),
        Call("flags_and_ints", {}, "ok"),
    ]
    result = run("benign_roundtrip", calls)
    assert result.status == "ok"
    assert "deliberate failure 7" in result.calls["f"].message
    assert result.calls["f"].error_type == "ValueError" and "fail" in result.calls["f"].traceback
    assert "expected dict" in result.calls["n"].message
    assert "missing_function" in result.calls["m"].message
    values = result.calls["ok"].values
    assert list(values["b"]) == [1.0, 0.0] and list(values["u"]) == [7.0]
    assert values["f32"] == 0.5 and values["scalar"].shape == ()
    assert all(v.dtype == np.float64 for v in values.values())


def test_import_failure_is_reported():
    result = run("syntax_error", [Call("forward_pass", net_args(), "c")])
    assert result.status == "ok" and "SyntaxError" in result.import_error
    assert result.calls["c"].status == "error" and "failed to import" in result.calls["c"].message


def test_exit_at_import_is_a_crash():
    result = run("exit_at_import", [Call("forward_pass", net_args(), "c")])
    assert result.status == "crashed" and result.calls == {} and "no results" in result.message


def test_sys_exit_in_a_call_is_an_error_and_os_exit_a_crash():
    result = run("exit_in_call", [Call("forward_pass", net_args(), "a"), Call("fine", {}, "b")])
    assert result.status == "ok" and result.calls["a"].error_type == "SystemExit"
    assert result.calls["b"].values["one"] == 1.0
    assert run("exit_in_call", [Call("vanish", {}, "v")]).status == "crashed"


# ----------------------------------------------------------- hostile: resources
@pytest.mark.parametrize("name", ["infinite_loop", "ignore_sigterm"])
def test_runaway_submissions_time_out(name):
    result = run(name, [Call("forward_pass", net_args(), "c")], timeout=2.0)
    assert result.status == "timeout" and result.calls == {}
    assert 2.0 <= result.wall_time < 4.0


@pytest.mark.parametrize("function", ["forward_pass", "numpy_bomb"])
def test_memory_bomb(function):
    args = net_args() if function == "forward_pass" else {}
    result = run("memory_bomb", [Call(function, args, "c")], memory_mb=512, timeout=10.0)
    assert result.status == "memory", result.message
    assert result.calls["c"].error_type.endswith("MemoryError")


def test_output_under_the_quota_is_capped_and_does_not_block():
    result = run("chatty", [Call("forward_pass", net_args(), "c")], output_cap=4096, timeout=20.0)
    assert result.status == "ok" and np.array_equal(result.calls["c"].values["h"], [1.0, 2.0])
    assert len(result.stdout) == 4096 and result.stdout_truncated and result.stderr_truncated
    assert "stdout truncated" in result.message


def test_an_output_flood_is_stopped_by_its_size_not_the_clock():
    """110 MB of output: killed once stdout + stderr pass the quota, long before the 60 s clock."""
    result = run("print_flood", [Call("forward_pass", net_args(), "c")], output_cap=4096, timeout=60.0)
    assert result.status == "output", result.message
    assert f"output limit of {OUTPUT_QUOTA >> 20} MiB" in result.message and result.calls == {}
    assert len(result.stdout) == 4096 and result.stdout_truncated


def test_background_processes_die_with_the_sandbox():
    marker = f"gc-marker-{uuid.uuid4().hex}"
    result = run("spawner", [Call("forward_pass", {"marker": [marker]}, "c")])
    assert result.status == "ok" and result.calls["c"].values["spawned"] == 2.0
    assert live_with(marker) == []


@needs_ns
def test_fork_bomb_is_bounded():
    result = run("spawner", [Call("fork_bomb", {}, "c")])
    assert result.status == "ok" and result.calls["c"].values["forked"] < sandbox.NPROC


# ------------------------------------------------------------ hostile: escape
def test_comparisons_happen_in_the_parent():
    result = run("patch_allclose", [Call("forward_pass", net_args(), "c")])
    assert result.status == "ok"
    assert np.array_equal(result.calls["c"].values["h"], np.full((2, 3), 42.0))
    assert not np.allclose(result.calls["c"].values["y_hat"], 0.0)


def test_subclasses_and_non_numeric_values():
    calls = [
        Call("forward_pass", net_args(), "sub"),
        Call("object_array", {}, "obj"),
        Call("complex_array", {}, "cplx"),
        Call("string_value", {}, "str"),
        Call("non_string_key", {}, "key"),
    ]
    result = run("lying_subclass", calls)
    assert result.status == "ok"
    h = result.calls["sub"].values["h"]
    assert type(h) is np.ndarray and np.array_equal(h, [[1.5, -2.0], [3.25, 4.0]])
    assert not np.array_equal(h, np.zeros((2, 2)))
    for cid in ("obj", "cplx", "str"):
        assert result.calls[cid].status == "error" and "non-numeric" in result.calls[cid].message
    assert result.calls["key"].status == "error"


@pytest.mark.parametrize("mode", [1, 2, 3, 4, 5, 7])
def test_tampered_results_are_invalid(mode):
    result = run("tamper", [Call("forward_pass", {"mode": mode}, "c")])
    assert result.status == "invalid", result.message
    assert result.calls == {}


def test_unknown_result_entries_are_ignored_and_flagged():
    result = run("tamper", [Call("forward_pass", {"mode": 6}, "c")])
    assert result.status == "ok" and set(result.calls) == {"c"}
    assert "not-asked" in result.message and "grade" in result.message


PLANTED = ("results.json", "pwned_by_escape.npy", "pwned_dir", "pwned_nested.json")  # what escape.py writes


def _traces(d: Path) -> tuple:
    """What the escape attempts would leave in a directory others write to as well (never its listing):
    the names escape.py plants and the directory's own mode."""
    return tuple((n, (d / n).exists()) for n in PLANTED) + (("mode", d.stat().st_mode),)


@needs_ns
def test_cannot_write_outside_its_directory(tmp_path):
    canary_dir = tmp_path / "canary"
    canary_dir.mkdir()
    (canary_dir / "keep.txt").write_text("keep")
    canary = SUBS / "canary.txt"
    shared = [REPO, REPO / "gradcheck", Path("/tmp"), Path.cwd(), SUBS]  # others write here too
    watched = [canary_dir, *shared]
    before = sorted(os.listdir(canary_dir)), {d: _traces(d) for d in shared}
    text = canary.read_bytes()
    calls = [
        Call("attack", {"dirs": [str(d) for d in watched], "files": [str(canary), str(canary_dir / "keep.txt")]}, "c")
    ]
    result = run("escape", calls)
    assert result.status == "ok", result.message
    assert result.calls["c"].values["wrote"] == 0 and result.calls["c"].values["targets"] > 5
    assert (sorted(os.listdir(canary_dir)), {d: _traces(d) for d in shared}) == before
    assert canary.read_bytes() == text and (canary_dir / "keep.txt").read_text() == "keep"


@needs_ns
def test_a_nested_namespace_does_not_help(tmp_path):
    shared = [REPO, SUBS]  # others write here too: look for the attack's traces, not at the listings
    before = sorted(os.listdir(tmp_path)), {d: _traces(d) for d in shared}
    targets = [tmp_path, *shared]
    result = run("escape", [Call("nested_namespace", {"targets": [str(d) for d in targets]}, "c")])
    assert result.status == "ok", result.message
    v = result.calls["c"].values
    assert v["remounted"] == 0 and v["wrote"] == 0, v
    assert (sorted(os.listdir(tmp_path)), {d: _traces(d) for d in shared}) == before


def test_a_messy_directory_is_still_removed(monkeypatch):
    # the autouse fixture asserts the sandbox directory is gone
    assert run("escape", [Call("make_mess", {}, "c")]).status == "ok"

    def too_deep(*args, **kwargs):
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(sandbox.shutil, "rmtree", too_deep)  # the `rm -rf` fallback
    assert run("escape", [Call("make_mess", {}, "c")]).status == "ok"


def test_cannot_import_gradcheck():
    result = run("import_gradcheck", [Call("attack", {"repo": [str(REPO)]}, "c")])
    v = result.calls["c"].values
    assert result.status == "ok" and v["plain"] == 0
    if NS_OK:
        assert v["bypass"] == v["by_file"] == v["repo_visible"] == 0


@needs_ns
def test_gradcheck_inside_an_exposed_directory_is_hidden(tmp_path, monkeypatch):
    site = tmp_path / "site"
    (site / "gradcheck").mkdir(parents=True)
    (site / "gradcheck" / "__init__.py").write_text("SECRET = 1\n")
    info = dict(sandbox._interpreter(sys.executable))
    raw = {
        "executable": info["executable"],
        "paths": info["expose"] + [str(site)],
        "gradcheck": [str(site / "gradcheck")],
        "sites": [],
        "seccomp": info["seccomp"],
    }
    monkeypatch.setitem(sandbox._CACHE, sys.executable, sandbox._paths(raw))
    result = run("import_gradcheck", [Call("from_extra", {"site": [str(site)]}, "c")])
    assert result.status == "ok", result.message
    assert result.calls["c"].values["found"] == 0 and result.calls["c"].values["listing"] == 0


@needs_ns
def test_no_network():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    try:
        result = run("network", [Call("attack", {"port": server.getsockname()[1]}, "c")])
        server.setblocking(False)
        with pytest.raises(BlockingIOError):  # a completed connection would be queued here
            server.accept()
    finally:
        server.close()
    assert result.status == "ok" and result.calls["c"].values["connected"] == 0


# ------------------------------------------------------------ session fallback
def test_session_fallback_refuses_to_run_as_root():
    info = sandbox._interpreter(sys.executable)
    call = [Call("introspect", {}, "i")]
    if os.geteuid() == 0 and not (info["nobody_ok"] and sandbox._reachable([tempfile.gettempdir()])):
        with pytest.raises(SandboxUnavailable, match="refusing"):
            run_submission(SUBS / "benign_roundtrip.py", call, isolation="session")
    else:
        result = run("benign_roundtrip", call, isolation="session")
        assert result.status == "ok" and result.calls["i"].values["uid"] != 0


def test_session_fallback_round_trip_and_warning(session_mode):
    args = net_args()
    result = run("benign_roundtrip", [Call("forward_pass", args, "c")], isolation="session")
    assert result.status == "ok" and result.isolation == "session"
    assert "isolation weaker" in result.message
    want = load_benign().forward_pass(**args)
    assert np.array_equal(result.calls["c"].values["h"], want["h"])


def test_session_fallback_timeout_and_stray_processes(session_mode):
    assert (
        run("ignore_sigterm", [Call("forward_pass", net_args(), "c")], timeout=2.0, isolation="session").status
        == "timeout"
    )
    marker = f"gc-marker-{uuid.uuid4().hex}"
    result = run("spawner", [Call("forward_pass", {"marker": [marker]}, "c")], isolation="session")
    assert result.status == "ok" and live_with(marker) == []


def test_malformed_calls_are_the_callers_error():
    for calls, kw in (
        ([Call("echo", {}, "x"), Call("echo", {}, "x")], {}),
        ([Call("os.system", {}, "x")], {}),
        ([], {"isolation": "none"}),
    ):
        with pytest.raises(ValueError):
            run_submission(SUBS / "benign_roundtrip.py", calls, **kw)


def test_an_ordinary_grader_without_namespaces_is_refused_unless_it_asks_for_a_session(monkeypatch):
    """auto falls back to a session only as root (a uid of its own for the run); an ordinary user's
    session would run the submission as that user, so auto refuses before anything runs."""
    monkeypatch.setattr(sandbox, "namespaces_available", lambda python=None: (False, "probe failed (test)"))
    monkeypatch.setattr(sandbox.os, "geteuid", lambda: 1000)
    with pytest.raises(SandboxUnavailable, match=r"not root.*--isolation session"):
        run_submission(SUBS.parent / "correct" / "sigmoid.py", [], isolation="auto")
