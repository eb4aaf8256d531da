"""Child side of the grading sandbox.  Standalone: never imports gradcheck.

The parent copies this file next to the submission in a fresh directory and runs
    python -I -S child.py launch CONFIG   as root: unshare user/pid/net/mount/ipc/uts
        namespaces (the parent side of this process writes the id maps), build a
        read-only root holding only the system, the interpreter and the box, rlimits,
        drop to nobody, then exec the `run` stage as pid 1 of the new pid namespace
    python -I -S child.py session CONFIG  fallback: rlimits, drop to nobody, exec `run`
    python -s -P child.py run BOX         import submission.py, run calls.json, write out/
(`run` uses -s -P with a clean environment rather than -I so that PYTHONHASHSEED=0
applies; -I would ignore it.)  Everything written here is untrusted data for the
parent, which validates it.
"""
import ctypes
import json
import os
import re
import resource
import sys
import traceback

SETUP_FAILED = 97
MSG_CAP, TB_CAP, MAX_KEYS = 2000, 4000, 64
CLONE = {"ns": 0x20000, "uts": 0x4000000, "ipc": 0x8000000, "user": 0x10000000,
         "pid": 0x20000000, "net": 0x40000000}
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 1, 24, 38
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}
DEVICES = ("null", "zero", "full", "random", "urandom")
LIMITS = {"as": "RLIMIT_AS", "cpu": "RLIMIT_CPU", "fsize": "RLIMIT_FSIZE",
          "nofile": "RLIMIT_NOFILE", "core": "RLIMIT_CORE", "nproc": "RLIMIT_NPROC"}
_libc = ctypes.CDLL(None, use_errno=True)


# ---------------------------------------------------------------- launch stage
def _check(ret, what):
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(src, target, fstype, flags, data=None):
    enc = lambda s: None if s is None else os.fsencode(s)  # noqa: E731
    _check(_libc.mount(enc(src), enc(target), enc(fstype), ctypes.c_ulong(flags),
                       enc(data)), f"mount {target}")


def _prctl(option, arg):
    _check(_libc.prctl(option, ctypes.c_ulong(arg), 0, 0, 0), f"prctl {option}")


def set_limits(limits):
    for key, value in limits.items():
        which = getattr(resource, LIMITS[key])
        hard = value + 1 if key == "cpu" else value
        try:
            resource.setrlimit(which, (value, hard))
        except (ValueError, OSError):
            resource.setrlimit(which, (value, value))


def drop_privileges(uid, gid):
    for cap in range(64):  # empty the bounding set: exec can never regain a capability
        if _libc.prctl(PR_CAPBSET_DROP, ctypes.c_ulong(cap), 0, 0, 0) != 0:
            break
    if uid is not None:
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
    _prctl(PR_SET_NO_NEW_PRIVS, 1)


def _bind(src, dst, flags=0):
    if os.path.isdir(src):
        os.makedirs(dst, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        open(dst, "a").close()
    _mount(src, dst, None, MS_BIND | MS_REC | flags)


def _populate_root(root, cfg):
    """Build the new root: system dirs, the interpreter, the box, /proc, a few devices."""
    for top in cfg["system"]:
        if os.path.islink(top):
            os.symlink(os.readlink(top), root + top)
        elif os.path.isdir(top):
            _bind(top, root + top)
    for path in cfg["expose"]:
        _bind(path, root + path)
    for path in cfg["hide"]:
        if os.path.isdir(root + path):
            _mount("tmpfs", root + path, "tmpfs", MS_NOSUID | MS_NODEV | MS_RDONLY, "size=4k")
    _bind(cfg["box"], root + cfg["box"])
    os.makedirs(root + "/proc")
    _mount("proc", root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    for dev in DEVICES:
        _bind("/dev/" + dev, root + "/dev/" + dev)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                         ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
        os.symlink(target, root + "/dev/" + name)


def _unescape(field):
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def _make_read_only(keep):
    """Remount every mount read-only except `keep` (locked flags are preserved)."""
    with open("/proc/self/mountinfo") as fh:
        lines = fh.read().splitlines()
    for line in lines:
        fields = line.split()
        target, opts = _unescape(fields[4]), fields[5].split(",")
        if target == keep:
            continue
        flags = MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID
        flags |= (MS_NODEV if "nodev" in opts else 0) | (MS_NOEXEC if "noexec" in opts else 0)
        _mount(None, target, None, flags)


def _enter_new_root(cfg):
    root = cfg["newroot"]
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    _mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "mode=755,size=4m")
    _populate_root(root, cfg)
    os.mkdir(root + "/.old")
    number = SYS_PIVOT_ROOT.get(os.uname().machine)
    if number is None:
        raise OSError(f"pivot_root syscall number unknown for {os.uname().machine}")
    _check(_libc.syscall(number, os.fsencode(root), os.fsencode(root + "/.old")), "pivot_root")
    os.chdir("/")
    _check(_libc.umount2(b"/.old", 2), "umount old root")  # MNT_DETACH
    os.rmdir("/.old")
    _make_read_only(cfg["box"])


def _jail_and_exec(cfg):
    """Runs as pid 1 of the new namespaces, as the namespace's root."""
    try:
        os.setgid(0)
        os.setuid(0)
        _enter_new_root(cfg)
        _exec_stage(cfg)
    except BaseException as exc:  # noqa: BLE001 - report and die, never run the student
        sys.stderr.write(f"gradcheck-sandbox: setup failed: {exc!r}\n")
        sys.stderr.flush()
        os._exit(SETUP_FAILED)


def _exec_stage(cfg):
    os.chdir(cfg["box"])
    set_limits(cfg["limits"])
    drop_privileges(cfg["uid"], cfg["gid"])
    _prctl(PR_SET_PDEATHSIG, 9)  # after setuid, which clears it
    os.execve(cfg["argv"][0], cfg["argv"], cfg["env"])


def _write_id_maps(pid, uid):
    if os.geteuid() == 0 and uid is not None:
        users, groups = f"0 0 1\n{uid} {uid} 1\n", f"0 0 1\n{uid} {uid} 1\n"
    else:
        with open(f"/proc/{pid}/setgroups", "w") as fh:
            fh.write("deny")
        users, groups = f"0 {os.geteuid()} 1\n", f"0 {os.getegid()} 1\n"
    for name, text in (("uid_map", users), ("gid_map", groups)):
        with open(f"/proc/{pid}/{name}", "w") as fh:
            fh.write(text)


def _namespace_child(cfg, ready_w, go_r):
    """Process C: unshare, wait for the id maps, fork pid 1, relay its exit status."""
    try:
        _prctl(PR_SET_PDEATHSIG, 9)
        _check(_libc.unshare(sum(CLONE.values())), "unshare")
        os.write(ready_w, b"u")
        if os.read(go_r, 1) != b"g":
            raise OSError("parent did not write the id maps")
        pid = os.fork()
        if pid == 0:
            _jail_and_exec(cfg)
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        os._exit(code if code >= 0 else 128 - code)
    except BaseException as exc:  # noqa: BLE001
        sys.stderr.write(f"gradcheck-sandbox: setup failed: {exc!r}\n")
        sys.stderr.flush()
        os._exit(SETUP_FAILED)


def launch(cfg):
    """Process B (stays in the host namespaces): fork C, write its id maps, relay exit."""
    ready_r, ready_w = os.pipe()
    go_r, go_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        _namespace_child(cfg, ready_w, go_r)
    os.close(ready_w)
    if os.read(ready_r, 1) == b"u":
        try:
            _write_id_maps(pid, cfg["uid"])
            os.write(go_w, b"g")
        except OSError as exc:
            sys.stderr.write(f"gradcheck-sandbox: setup failed: id maps: {exc!r}\n")
    os.close(go_w)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    return code if code >= 0 else 128 - code


# ------------------------------------------------------------------- run stage
class _Blocker:
    """Meta-path finder refusing gradcheck (the grader must stay out of reach)."""

    @staticmethod
    def find_spec(name, path=None, target=None):
        if name == "gradcheck" or name.startswith("gradcheck."):
            raise ModuleNotFoundError(f"No module named {name!r} (blocked in sandbox)", name=name)
        return None


def _restrict_imports(box):
    sys.meta_path.insert(0, _Blocker())
    roots = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    keep = [p for p in sys.path
            if any(os.path.realpath(p or ".").startswith(r + os.sep) for r in roots)]
    sys.path[:] = [box] + keep
    for name in [m for m in sys.modules if m == "gradcheck" or m.startswith("gradcheck.")]:
        del sys.modules[name]


def _cap(text, limit, tail=False):
    text = str(text)
    if len(text) <= limit:
        return text
    return "..." + text[-limit:] if tail else text[:limit] + "..."


def _describe(exc):
    try:
        message = f"{type(exc).__name__}: {exc}"
    except BaseException:  # noqa: BLE001 - a hostile __str__
        message = type(exc).__name__
    try:
        tb = "".join(traceback.format_exception(exc))
    except BaseException:  # noqa: BLE001
        tb = ""
    return {"status": "error", "error_type": type(exc).__name__,
            "message": _cap(message, MSG_CAP), "traceback": _cap(tb, TB_CAP, tail=True)}


def _load_module(box):
    import importlib.util
    spec = importlib.util.spec_from_file_location("submission", os.path.join(box, "submission.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules["submission"] = module
    spec.loader.exec_module(module)
    return module


def _to_float_array(np, value):
    arr = np.asarray(value)
    if arr.dtype.kind not in "biuf" or arr.dtype.fields is not None:
        raise TypeError(f"non-numeric value (dtype {arr.dtype})")
    return np.array(arr, dtype=np.float64, copy=True, subok=False)


def _run_call(np, module, index, call, box):
    func = getattr(module, call["function"], None)
    if not callable(func):
        return {"status": "error", "error_type": "AttributeError",
                "message": f"submission defines no function {call['function']!r}"}
    args = {name: (np.load(os.path.join(box, "in", spec["npy"]), allow_pickle=False)
                   if "npy" in spec else spec["value"]) for name, spec in call["args"].items()}
    out = func(**args)
    if not isinstance(out, dict):
        raise TypeError(f"{call['function']} returned {type(out).__name__}, expected dict")
    if len(out) > MAX_KEYS or not all(isinstance(k, str) and len(k) <= 200 for k in out):
        raise TypeError(f"returned dict needs at most {MAX_KEYS} short string keys")
    arrays = [(key, _to_float_array(np, value)) for key, value in out.items()]
    for j, (_, arr) in enumerate(arrays):
        np.save(os.path.join(box, "out", f"c{index}_{j}.npy"), arr, allow_pickle=False)
    return {"status": "ok", "keys": [key for key, _ in arrays]}


def run(box):
    import numpy as np  # before the submission can touch numpy
    _restrict_imports(box)
    with open(os.path.join(box, "calls.json")) as fh:
        calls = json.load(fh)["calls"]
    results = {"import_error": None, "calls": []}
    try:
        module = _load_module(box)
    except BaseException as exc:  # noqa: BLE001 - SyntaxError, SystemExit, ...
        module, results["import_error"] = None, _describe(exc)
    for index, call in enumerate(calls):
        if module is None:
            entry = {"status": "error", "error_type": "ImportError",
                     "message": "not run: the submission failed to import"}
        else:
            try:
                entry = _run_call(np, module, index, call, box)
            except BaseException as exc:  # noqa: BLE001
                entry = _describe(exc)
        results["calls"].append(dict(entry, id=call["id"]))
    _write_results(box, results)


def _write_results(box, results):
    path = os.path.join(box, "out", "results.json")
    with open(path + ".tmp", "w") as fh:
        json.dump(results, fh)
    os.replace(path + ".tmp", path)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # skip the submission's atexit hooks and finalizers


def main(argv):
    mode, arg = argv[1], argv[2]
    if mode == "run":
        return run(arg)
    cfg = json.loads(arg)
    if mode == "launch":
        return launch(cfg)
    if mode == "session":
        try:
            _exec_stage(cfg)
        except OSError as exc:
            sys.stderr.write(f"gradcheck-sandbox: setup failed: {exc!r}\n")
        return SETUP_FAILED
    raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
