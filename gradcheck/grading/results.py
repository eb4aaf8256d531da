"""Read back what a sandboxed child left behind, trusting it only as data.

Files are opened relative to a directory descriptor with O_NOFOLLOW|O_NONBLOCK, must
be regular files under a size cap, JSON is schema-checked and ``.npy`` files are read
with ``allow_pickle=False`` and must hold bool/int/float data (converted to float64).
"""
from __future__ import annotations

import io
import json
import os
import signal
import stat
from dataclasses import dataclass, field

import numpy as np

RESULTS_CAP, ARRAY_CAP, TOTAL_CAP = 4 << 20, 64 << 20, 512 << 20
MAX_KEYS, TEXT_CAP = 64, 8000
SETUP_FAILED = 97
MEMORY_WORDS = ("MemoryError", "Cannot allocate memory", "std::bad_alloc", "out of memory")


@dataclass
class CallResult:
    status: str                      # 'ok' | 'error'
    values: dict = field(default_factory=dict)
    message: str = ""
    error_type: str = ""
    traceback: str = ""


@dataclass
class SandboxResult:
    status: str                      # 'ok' | 'timeout' | 'memory' | 'crashed' | 'invalid'
    message: str
    isolation: str                   # 'namespaces' | 'session'
    calls: dict = field(default_factory=dict)
    stdout: str = ""
    stderr: str = ""
    returncode: int | None = None
    wall_time: float = 0.0
    import_error: str | None = None
    stdout_truncated: bool = False
    stderr_truncated: bool = False


class Invalid(Exception):
    """The results are malformed."""


def classify(result, run: dict, box, calls, mode: str, timeout: float) -> None:
    """Fill `result` (a SandboxResult) from the finished `run` and the files in `box`."""
    notes = [f"{len(run['left'])} process(es) survived the sweep"] if run["left"] else []
    if run["timed_out"]:
        result.status = "timeout"
        notes.insert(0, f"wall-clock limit of {timeout:g} s exceeded; killed")
    else:
        try:
            parsed = read_results(os.path.join(box, "out"), calls)
        except Invalid as exc:
            result.status = "invalid"
            notes.insert(0, f"invalid results: {exc}")
        else:
            notes[:0] = _apply(result, parsed, run, mode)
    for name in ("stdout", "stderr"):
        if run[f"{name}_truncated"]:
            notes.append(f"{name} truncated to its first bytes")
    result.message = "; ".join(notes)


def _apply(result, parsed, run: dict, mode: str) -> list[str]:
    signum = _signal(run["returncode"], mode)
    if parsed is None:
        result.status, why = _no_results(run, signum)
        return [why]
    result.calls, result.import_error, notes = parsed
    errors = [c.error_type for c in result.calls.values()]
    if any(e.endswith("MemoryError") for e in errors) or "MemoryError" in (result.import_error or ""):
        result.status = "memory"
        return ["MemoryError raised in the submission"] + notes
    if run["returncode"] != 0:
        result.status = "crashed"
        return [f"results written but the child then exited with {_exit_text(run, signum)}"] + notes
    result.status = "ok"
    if result.import_error:
        notes.insert(0, "the submission failed to import")
    return notes


def _signal(code, mode: str):
    if code is not None and code < 0:
        return -code
    if mode == "namespaces" and code is not None and code > 128:
        return code - 128
    return None


def _exit_text(run: dict, signum) -> str:
    if signum is None:
        return f"exit status {run['returncode']}"
    try:
        return f"signal {signal.Signals(signum).name}"
    except ValueError:
        return f"signal {signum}"


def _no_results(run: dict, signum) -> tuple[str, str]:
    text, stderr = _exit_text(run, signum), run["stderr"]
    if run["returncode"] == SETUP_FAILED and "gradcheck-sandbox: setup failed" in stderr:
        return "crashed", "sandbox setup failed: " + stderr.strip()[-500:]
    if signum == signal.SIGXCPU or (signum == signal.SIGKILL and "CPU" in stderr):
        return "timeout", f"CPU-time limit exceeded ({text})"
    if any(word in stderr for word in MEMORY_WORDS) or signum == signal.SIGKILL:
        return "memory", f"out of memory ({text}) and no results"
    return "crashed", f"no results: the child ended with {text}"


# ---------------------------------------------------------------------- files
def _read(dirfd: int, name: str, cap: int) -> bytes:
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    fd = os.open(name, flags, dir_fd=dirfd)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise Invalid(f"{name} is not a regular file")
        if info.st_size > cap:
            raise Invalid(f"{name} is larger than {cap} bytes")
        data = os.read(fd, cap + 1)
        if len(data) > cap:
            raise Invalid(f"{name} is larger than {cap} bytes")
        return data
    finally:
        os.close(fd)


def read_results(out_dir: str, calls):
    """(calls: {id: CallResult}, import_error, notes), or None if there are no results."""
    try:
        dirfd = os.open(out_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        raise Invalid(f"output directory unusable: {exc.strerror}") from None
    try:
        try:
            raw = _read(dirfd, "results.json", RESULTS_CAP)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise Invalid(f"results.json unreadable: {exc.strerror}") from None
        try:
            doc = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            raise Invalid(f"results.json is not JSON: {exc}") from None
        return _parse(doc, calls, dirfd)
    finally:
        os.close(dirfd)


def _text(entry: dict, key: str) -> str:
    value = entry.get(key, "")
    if not isinstance(value, str):
        raise Invalid(f"field {key!r} is not a string")
    return value[:TEXT_CAP]


def _parse(doc, calls, dirfd: int):
    if not isinstance(doc, dict) or not isinstance(doc.get("calls"), list):
        raise Invalid("results.json is not an object with a 'calls' list")
    notes = [f"ignored unknown field {k!r}" for k in sorted(map(str, doc)) if k not in ("import_error", "calls")]
    import_error = doc.get("import_error")
    if import_error is not None:
        if not isinstance(import_error, dict):
            raise Invalid("import_error is not an object")
        import_error = _text(import_error, "message") or "import failed"
    index = {call.id: i for i, call in enumerate(calls)}
    results, budget = {}, [TOTAL_CAP]
    for entry in doc["calls"]:
        cid = entry.get("id") if isinstance(entry, dict) else None
        if not isinstance(cid, str) or cid not in index or cid in results:
            notes.append(f"ignored a result for an unknown or repeated call id {str(cid)[:60]!r}")
            continue
        results[cid] = _parse_call(entry, index[cid], dirfd, budget)
    missing = [cid for cid in index if cid not in results]
    if missing:
        raise Invalid(f"no result for call(s) {missing[:5]}")
    return results, import_error, notes


def _parse_call(entry: dict, i: int, dirfd: int, budget: list):
    status = entry.get("status")
    if status == "error":
        return CallResult("error", {}, _text(entry, "message"), _text(entry, "error_type"),
                          _text(entry, "traceback"))
    if status != "ok":
        raise Invalid(f"call status {str(status)[:40]!r} is neither 'ok' nor 'error'")
    keys = entry.get("keys")
    if (not isinstance(keys, list) or len(keys) > MAX_KEYS or len(set(map(repr, keys))) != len(keys)
            or not all(isinstance(k, str) and len(k) <= 200 for k in keys)):
        raise Invalid(f"call {entry['id']!r}: 'keys' must be at most {MAX_KEYS} distinct strings")
    values = {key: _load_array(dirfd, f"c{i}_{j}.npy", budget) for j, key in enumerate(keys)}
    return CallResult("ok", values)


def _load_array(dirfd: int, name: str, budget: list) -> np.ndarray:
    try:
        data = _read(dirfd, name, min(ARRAY_CAP, budget[0]))
    except OSError as exc:
        raise Invalid(f"{name}: {exc.strerror}") from None
    budget[0] -= len(data)
    if not data.startswith(b"\x93NUMPY"):
        raise Invalid(f"{name} is not a .npy file")
    try:
        arr = np.lib.format.read_array(io.BytesIO(data), allow_pickle=False)
    except Exception as exc:  # noqa: BLE001 - any parse failure is the child's fault
        raise Invalid(f"{name}: {type(exc).__name__}: {exc}"[:300]) from None
    if type(arr) is not np.ndarray or arr.dtype.kind not in "biuf" or arr.dtype.fields:
        raise Invalid(f"{name} holds dtype {arr.dtype}, not bool/int/float")
    return np.array(arr, dtype=np.float64, copy=True)
