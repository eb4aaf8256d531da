"""Read back what a sandboxed child left behind, trusting it only as data.

Files are opened relative to a directory descriptor with O_NOFOLLOW|O_NONBLOCK, must
be regular files under a size cap, JSON is schema-checked, and the one ``arrays.npy``
(every returned array, flattened and concatenated) is read with ``allow_pickle=False``
and must be a 1-D float64 vector; each call's slice of it is checked against the
shapes it claims.
"""

from __future__ import annotations

import json
import math
import os
import signal
import stat
from dataclasses import dataclass, field

import numpy as np

RESULTS_CAP, ARRAYS_CAP = 4 << 20, 64 << 20  # the same numbers as child.py's
MAX_KEYS, TEXT_CAP = 64, 8000
SETUP_FAILED, NO_ROOM = 97, 96  # child.py's exit statuses
MEMORY_WORDS = ("MemoryError", "Cannot allocate memory", "std::bad_alloc", "out of memory")


@dataclass
class CallResult:
    status: str  # 'ok' | 'error'
    values: dict = field(default_factory=dict)  # key -> float64 ndarray
    message: str = ""
    error_type: str = ""
    traceback: str = ""
    kinds: dict = field(default_factory=dict)  # key -> what was returned, e.g. 'ndarray:float32'
    mutated: tuple = ()  # names of array arguments the call changed in place
    frames: tuple = ()  # for an error: ((line, function, source line), ...) in the submission, innermost last


@dataclass
class SandboxResult:
    status: str  # 'ok' | 'timeout' | 'memory' | 'crashed' | 'invalid'
    message: str
    isolation: str  # 'namespaces' | 'session'
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
    if run.get("output_exceeded"):
        result.status = "output"
        notes.insert(0, f"printed more than the output limit of {run['output_limit'] >> 20} MiB; killed")
    elif run["timed_out"]:
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
    if run["returncode"] == NO_ROOM and "gradcheck-sandbox: no room for the results" in stderr:
        return "crashed", "the submission filled its disk quota: no room left for its results"
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
        if info.st_size > cap:  # checked before anything is read
            raise Invalid(f"{name} is over the {cap >> 20} MB limit on a submission's results")
        data = os.read(fd, cap + 1)
        if len(data) > cap:
            raise Invalid(f"{name} is over the {cap >> 20} MB limit on a submission's results")
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
        try:  # written only by the sandbox's pid 1, never by the submission
            refused = _read(dirfd, "refused.txt", 4096).decode("utf-8", "replace").strip()
        except FileNotFoundError:
            refused = ""
        if refused:
            raise Invalid(refused.splitlines()[0])
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
    ids = {call.id for call in calls}
    blob = None
    results = {}
    for entry in doc["calls"]:
        cid = entry.get("id") if isinstance(entry, dict) else None
        if not isinstance(cid, str) or cid not in ids or cid in results:
            notes.append(f"ignored a result for an unknown or repeated call id {str(cid)[:60]!r}")
            continue
        if entry.get("status") == "ok" and entry.get("keys") and blob is None:
            blob = _load_blob(dirfd)
        results[cid] = _parse_call(entry, blob)
    missing = [call.id for call in calls if call.id not in results]
    if missing:
        raise Invalid(f"no result for call(s) {missing[:5]}")
    return results, import_error, notes


def _strings(entry: dict, key: str, count: int | None = None) -> list[str]:
    value = entry.get(key, [] if count is None else None)
    if (
        not isinstance(value, list)
        or len(value) > MAX_KEYS
        or (count is not None and len(value) != count)
        or not all(isinstance(k, str) and len(k) <= 200 for k in value)
    ):
        raise Invalid(f"call {entry['id']!r}: {key!r} must be a list of at most {MAX_KEYS} short strings")
    return value


def _frames(entry: dict) -> tuple:
    """The submission's frames of an error, as (line, function, source line); malformed ones are dropped."""
    value = entry.get("frames", [])
    if not isinstance(value, list):
        return ()
    ok = lambda f: (
        isinstance(f, list)
        and len(f) == 3
        and type(f[0]) is int
        and 0 <= f[0] < 1 << 31
        and all(isinstance(t, str) for t in f[1:])
    )
    return tuple((f[0], f[1][:100], f[2][:200]) for f in value[-5:] if ok(f))


def _shape(value, cid: str) -> tuple[int, ...]:
    if not isinstance(value, list) or len(value) > 32 or not all(type(n) is int and 0 <= n <= 1 << 40 for n in value):
        raise Invalid(f"call {cid!r}: bad shape {str(value)[:60]}")
    return tuple(value)


def _parse_call(entry: dict, blob):
    status = entry.get("status")
    if status == "error":
        return CallResult(
            "error",
            {},
            _text(entry, "message"),
            _text(entry, "error_type"),
            _text(entry, "traceback"),
            frames=_frames(entry),
        )
    if status != "ok":
        raise Invalid(f"call status {str(status)[:40]!r} is neither 'ok' nor 'error'")
    cid = entry["id"]
    keys = _strings(entry, "keys")
    if len(set(keys)) != len(keys):
        raise Invalid(f"call {cid!r}: 'keys' must be distinct")
    kinds, mutated = _strings(entry, "kinds", len(keys)), _strings(entry, "mutated")
    shapes = entry.get("shapes")
    if not isinstance(shapes, list) or len(shapes) != len(keys):
        raise Invalid(f"call {cid!r}: one shape per key expected")
    shapes = [_shape(s, cid) for s in shapes]
    offset = entry.get("offset", 0)
    if type(offset) is not int or offset < 0:
        raise Invalid(f"call {cid!r}: bad offset")
    values = {}
    for key, shape in zip(keys, shapes):
        size = math.prod(shape)
        if blob is None or offset + size > blob.size:
            raise Invalid(f"call {cid!r}: {key!r} lies outside arrays.npy")
        values[key] = blob[offset : offset + size].reshape(shape)  # a read-only view of a private copy
        offset += size
    return CallResult("ok", values, kinds=dict(zip(keys, kinds)), mutated=tuple(mutated))


def _load_blob(dirfd: int) -> np.ndarray:
    """The one float64 vector, its size checked against the cap and against its own header
    before anything is read, then read straight into the array (one copy of the data)."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open("arrays.npy", flags, dir_fd=dirfd)
    except OSError as exc:
        raise Invalid(f"arrays.npy: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise Invalid("arrays.npy is not a regular file")
        if info.st_size > ARRAYS_CAP:
            raise Invalid(f"arrays.npy is over the {ARRAYS_CAP >> 20} MB limit on a submission's results")
        try:
            fmt = np.lib.format
            version = fmt.read_magic(fh)
            read_header = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
            shape, _fortran, dtype = read_header(fh, max_header_size=4096)
        except Exception as exc:
            raise Invalid(f"arrays.npy is not a .npy file: {type(exc).__name__}: {exc}"[:300]) from None
        if dtype != np.dtype("<f8") or len(shape) != 1:
            raise Invalid(f"arrays.npy holds {dtype} of shape {shape}, not a float64 vector"[:300])
        if fh.tell() + 8 * shape[0] != info.st_size:
            raise Invalid("arrays.npy: its size does not match its header")
        arr = np.fromfile(fh, dtype="<f8", count=shape[0])
    if arr.size != shape[0]:
        raise Invalid("arrays.npy is shorter than its header says")
    arr.flags.writeable = False
    return arr
