"""Child side of the grading sandbox.  Standalone: never imports gradcheck.

The parent copies this file next to the submission in a fresh directory and runs
    python -I -S child.py launch CONFIG   as root: unshare user/pid/net/mount/ipc/uts
        namespaces (the parent side of this process writes the id maps), build a
        read-only root holding only the system, the interpreter and the box, rlimits,
        drop to nobody, then exec the `run` stage as pid 1 of the new pid namespace
    python -I -S child.py session CONFIG  fallback: rlimits, drop to nobody, exec `run`
    python -s -P child.py zygote FD       fork server for the namespaces mode: numpy loaded
        once; each request forks a `launch` whose pid 1 runs the `run` stage in-process
    python -s -P child.py run BOX         import submission.py, run calls.json (the format
        is described in protocol.py), write out/results.json and out/arrays.npy
(`run` uses -s -P with a clean environment rather than -I so that PYTHONHASHSEED=0
applies; -I would ignore it.)  Everything written here is untrusted data for the
parent, which validates it.
"""

import ctypes
import errno
import json
import os
import re
import resource
import signal
import stat
import sys
import traceback

SETUP_FAILED = 97
MSG_CAP, TB_CAP, MAX_KEYS = 2000, 4000, 64
RESULTS_CAP, ARRAYS_CAP = 4 << 20, 64 << 20  # the files the parent accepts (results.py has the same numbers)
NO_ROOM = 96  # the run could not write its results: the submission filled its disk quota
CAP_FIELDS = ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")
PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, CAPABILITY_VERSION_3 = 47, 4, 0x20080522
# Denied with EPERM by the seccomp filter (clone/clone3 handled apart: no new namespaces).
DENY = (
    "ptrace", "mount", "umount", "umount2", "pivot_root", "chroot", "unshare", "setns", "keyctl", "add_key",
    "request_key", "bpf", "perf_event_open", "kexec_load", "kexec_file_load", "init_module", "finit_module",
    "delete_module", "process_vm_readv", "process_vm_writev", "userfaultfd", "open_by_handle_at", "fsopen",
    "fsmount", "fsconfig", "fspick", "move_mount", "open_tree", "mount_setattr", "reboot", "swapon", "swapoff",
    "syslog", "acct", "quotactl", "iopl", "ioperm", "settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
    "lookup_dcookie", "personality", "name_to_handle_at", "io_uring_setup", "io_uring_enter", "io_uring_register",
)  # fmt: skip
CLONE_NEW = (0x20000, 0x2000000, 0x4000000, 0x8000000, 0x10000000, 0x20000000, 0x40000000, 0x80)  # ns, cgroup, uts,
# ipc, user, pid, net, time
_SECCOMP = []  # the libseccomp binding, loaded (by file path) before the sandbox is entered
CLONE = {"ns": 0x20000, "uts": 0x4000000, "ipc": 0x8000000, "user": 0x10000000, "pid": 0x20000000, "net": 0x40000000}
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 1, 24, 38
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}
DEVICES = ("null", "zero", "full", "random", "urandom")
LIMITS = {
    "as": "RLIMIT_AS",
    "cpu": "RLIMIT_CPU",
    "fsize": "RLIMIT_FSIZE",
    "nofile": "RLIMIT_NOFILE",
    "core": "RLIMIT_CORE",
    "nproc": "RLIMIT_NPROC",
}
_libc = ctypes.CDLL(None, use_errno=True)


# ---------------------------------------------------------------- launch stage
def _check(ret, what):
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(src, target, fstype, flags, data=None):
    enc = lambda s: None if s is None else os.fsencode(s)
    _check(_libc.mount(enc(src), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)), f"mount {target}")


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
    """No capability survives: bounding and ambient sets emptied, then (after setuid, or as the
    namespace's root when no second uid is mapped) the effective, permitted and inheritable
    sets cleared with capset, so nothing depends on an exec; checked in /proc/self/status."""
    for cap in range(64):  # empty the bounding set: exec can never regain a capability
        if _libc.prctl(PR_CAPBSET_DROP, ctypes.c_ulong(cap), 0, 0, 0) != 0:
            break
    _libc.prctl(PR_CAP_AMBIENT, ctypes.c_ulong(PR_CAP_AMBIENT_CLEAR_ALL), 0, 0, 0)
    if uid is not None:
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
    header = (ctypes.c_uint32 * 2)(CAPABILITY_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()  # two {effective, permitted, inheritable}: all empty
    _check(_libc.capset(header, data), "capset")
    _prctl(PR_SET_NO_NEW_PRIVS, 1)
    # The bounding set matters only to a uid 0 (exec as root would get it back); an ordinary uid
    # cannot empty it (no CAP_SETPCAP) and, with no_new_privs, cannot gain from it.
    fields = CAP_FIELDS if os.getuid() == 0 or os.geteuid() == 0 else tuple(f for f in CAP_FIELDS if f != "CapBnd")
    with open("/proc/self/status") as fh:
        left = [line.split()[0] for line in fh if line.split(":")[0] in fields and int(line.split()[1], 16)]
    if left:
        raise OSError(f"refusing to run the submission: capabilities remain after dropping them ({' '.join(left)})")


def load_seccomp(spec):
    """Import the libseccomp binding (pyseccomp or Debian's seccomp) from its file: the
    launch stage runs with -I -S, and the sandbox may not see it."""
    if spec and not _SECCOMP:
        import importlib.util

        name, origin = spec
        mod_spec = importlib.util.spec_from_file_location(name, origin)
        module = importlib.util.module_from_spec(mod_spec)
        mod_spec.loader.exec_module(module)
        _SECCOMP.append(module)


def install_seccomp():
    """Deny DENY (EPERM), clone with any CLONE_NEW* flag (EPERM), clone3 (ENOSYS: libc falls
    back to clone); everything else allowed; other architectures killed (libseccomp's default)."""
    sc = _SECCOMP[0]
    f = sc.SyscallFilter(sc.ALLOW)
    for name in DENY:
        try:
            f.add_rule(sc.ERRNO(errno.EPERM), name)
        except (ValueError, OSError, RuntimeError):  # not a system call on this architecture
            pass
    for flag in CLONE_NEW:
        f.add_rule(sc.ERRNO(errno.EPERM), "clone", sc.Arg(0, sc.MASKED_EQ, flag, flag))
    f.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")
    f.load()


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
    for path in cfg["hide"]:  # the grader's package dirs, dist-info, editable finders: empty
        if os.path.isdir(root + path) and not os.path.islink(root + path):
            _mount("tmpfs", root + path, "tmpfs", MS_NOSUID | MS_NODEV | MS_RDONLY, "size=4k,mode=555")
        elif os.path.isfile(root + path) and not os.path.islink(root + path):
            _mount("/dev/null", root + path, None, MS_BIND)
    host_out = _box_on_tmpfs(cfg, root + cfg["box"])
    os.makedirs(root + "/proc")
    _mount("proc", root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    for dev in DEVICES:
        _bind("/dev/" + dev, root + "/dev/" + dev)
    for name, target in (
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ):
        os.symlink(target, root + "/dev/" + name)
    return host_out


BOX_FILES = ("submission.py", "child.py", "calls.json", "in/arrays.npy")


def _box_on_tmpfs(cfg, dst):
    """The box becomes a size-limited tmpfs (the disk quota) holding a copy of the inputs; its
    out/ is copied back to the host box by pid 1 after the run.  Returns an fd of host out/."""
    host = os.open(cfg["box"], os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    os.makedirs(dst)
    _mount("tmpfs", dst, "tmpfs", MS_NOSUID | MS_NODEV, f"size={cfg['disk_mb']}m,nr_inodes=8192,mode=755")
    os.mkdir(dst + "/in")
    for name in BOX_FILES:
        src = os.open(name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=host)
        with os.fdopen(src, "rb") as fin, open(os.path.join(dst, name), "wb") as fout:
            while chunk := fin.read(1 << 20):
                fout.write(chunk)
    os.mkdir(dst + "/out")  # a tmpfs of its own, just big enough for the largest results accepted
    out_mb = (RESULTS_CAP + ARRAYS_CAP >> 20) + 2
    _mount("tmpfs", dst + "/out", "tmpfs", MS_NOSUID | MS_NODEV, f"size={out_mb}m,nr_inodes=64,mode=755")
    if cfg["uid"] is not None:
        for path in (dst, dst + "/out"):
            os.chown(path, cfg["uid"], cfg["gid"])
        os.chmod(dst, 0o700)
    out = os.open("out", os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=host)
    os.close(host)
    return out


def _refuse(host_out, why):
    """Tell the parent why a result file was not copied (only pid 1 can write the host out/)."""
    fd = os.open("refused.txt", os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o644, dir_fd=host_out)
    os.write(fd, why.encode()[:200] + b"\n")
    os.close(fd)


def _copy_out(box, host_out):
    """pid 1, after every process of the run is dead: results back to the host box, each file at
    most its cap + 1 bytes (the parent refuses anything over its cap)."""
    try:
        out = os.open(os.path.join(box, "out"), os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        return
    for name, cap in (("results.json", RESULTS_CAP), ("arrays.npy", ARRAYS_CAP)):
        try:
            src = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=out)
        except FileNotFoundError:
            continue
        except OSError as exc:
            _refuse(host_out, f"{name} unreadable: {exc.strerror}")
            continue
        try:
            if not stat.S_ISREG(os.fstat(src).st_mode):
                _refuse(host_out, f"{name} is not a regular file")
                continue
            dst = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644, dir_fd=host_out)
            left = cap + 1
            try:
                while left > 0 and (chunk := os.read(src, min(left, 1 << 20))):
                    os.write(dst, chunk)
                    left -= len(chunk)
            finally:
                os.close(dst)
        finally:
            os.close(src)


def _unescape(field):
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def _make_read_only(keep):
    """Remount every mount read-only except those in `keep` (locked flags are preserved)."""
    with open("/proc/self/mountinfo") as fh:
        lines = fh.read().splitlines()
    for line in lines:
        fields = line.split()
        target, opts = _unescape(fields[4]), fields[5].split(",")
        if target in keep:
            continue
        flags = MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID
        flags |= (MS_NODEV if "nodev" in opts else 0) | (MS_NOEXEC if "noexec" in opts else 0)
        _mount(None, target, None, flags)


def _enter_new_root(cfg):
    root = cfg["newroot"]
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    _mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "mode=755,size=4m")
    host_out = _populate_root(root, cfg)
    os.mkdir(root + "/.old")
    number = SYS_PIVOT_ROOT.get(os.uname().machine)
    if number is None:
        raise OSError(f"pivot_root syscall number unknown for {os.uname().machine}")
    _check(_libc.syscall(number, os.fsencode(root), os.fsencode(root + "/.old")), "pivot_root")
    os.chdir("/")
    _check(_libc.umount2(b"/.old", 2), "umount old root")  # MNT_DETACH
    os.rmdir("/.old")
    _make_read_only((cfg["box"], cfg["box"] + "/out"))
    return host_out


def _jail_and_exec(cfg):
    """Runs as pid 1 of the new namespaces, as the namespace's root: builds the root, forks the
    run (which drops every privilege), and once it and every process it left are dead copies
    its results out of the box's tmpfs.  Student code never runs in this process."""
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # pid 1 gets only signals it handles: none
        os.setgid(0)
        os.setuid(0)
        _prctl(4, 0)  # PR_SET_DUMPABLE 0: no /proc/1/mem, no ptrace of pid 1
        host_out = _enter_new_root(cfg)
        pid = os.fork()
        if pid == 0:
            os.close(host_out)
            _run_stage_child(cfg)
        _, status = os.waitpid(pid, 0)
        try:
            os.kill(-1, signal.SIGKILL)  # every other process of this pid namespace
        except OSError:
            pass
        while True:
            try:
                os.waitpid(-1, 0)
            except ChildProcessError:
                break
        _copy_out(cfg["box"], host_out)
        code = os.waitstatus_to_exitcode(status)
        os._exit(code if code >= 0 else 128 - code)
    except BaseException as exc:
        sys.stderr.write(f"gradcheck-sandbox: setup failed: {exc!r}\n")
        sys.stderr.flush()
        os._exit(SETUP_FAILED)


def _run_stage_child(cfg):
    try:
        _exec_stage(cfg)
    except BaseException as exc:
        sys.stderr.write(f"gradcheck-sandbox: setup failed: {exc!r}\n")
        sys.stderr.flush()
    os._exit(SETUP_FAILED)


def _exec_stage(cfg):
    os.chdir(cfg["box"])
    set_limits(cfg["limits"])
    drop_privileges(cfg["uid"], cfg["gid"])
    _prctl(PR_SET_PDEATHSIG, 9)  # after setuid, which clears it
    if cfg.get("seccomp"):
        load_seccomp(cfg["seccomp"])
        install_seccomp()
    if cfg.get("in_process"):  # forked from the zygote: numpy is loaded, skip the exec
        os.closerange(3, resource.getrlimit(resource.RLIMIT_NOFILE)[0])  # what exec's CLOEXEC would do
        os.environ.clear()
        os.environ.update(cfg["env"])
        run(cfg["box"])  # ends with os._exit
        os._exit(1)
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
    except BaseException as exc:
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
    keep = [p for p in sys.path if any(os.path.realpath(p or ".").startswith(r + os.sep) for r in roots)]
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
        message = f"{getattr(exc, 'gradcheck_where', '')}{type(exc).__name__}: {exc}"
    except BaseException:
        message = type(exc).__name__
    try:
        tb = "".join(traceback.format_exception(exc))
    except BaseException:
        tb = ""
    return {
        "status": "error",
        "error_type": type(exc).__name__,
        "message": _cap(message, MSG_CAP),
        "traceback": _cap(tb, TB_CAP, tail=True),
        "frames": _student_frames(exc),
    }


def _student_frames(exc):
    """[[line, function, source line], ...] of the traceback's frames in submission.py, innermost last."""
    try:
        frames = traceback.extract_tb(exc.__traceback__)
        mine = [f for f in frames if os.path.basename(f.filename) == "submission.py"]
        return [[int(f.lineno or 0), _cap(f.name, 100), _cap((f.line or "").strip(), 200)] for f in mine[-5:]]
    except BaseException:
        return []


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


def _kind(np, value):
    """'ndarray:float32', 'float:float64', 'list:int64'...: what was returned, for the report."""
    try:
        return _cap(f"{type(value).__name__}:{np.asarray(value).dtype}", 60)
    except BaseException:
        return "unknown"


class _Inputs:
    """Argument arrays from the packed in/arrays.npy; every use gets a fresh copy."""

    def __init__(self, np, box, table):
        self.np, self.table = np, table
        self.blob = np.load(os.path.join(box, "in", "arrays.npy"), allow_pickle=False) if table else None

    def array(self, i):
        spec = self.table[i]
        dtype = self.np.dtype(spec["dtype"])
        count = 1
        for n in spec["shape"]:
            count *= n
        flat = self.np.frombuffer(self.blob, dtype=dtype, count=count, offset=spec["offset"])
        return flat.reshape(spec["shape"]).copy()


def _resolve(spec, inputs, refs, env=None):
    if "value" in spec:
        return spec["value"]
    if "array" in spec:
        return inputs.array(spec["array"])
    if "var" in spec:
        return env[spec["var"]]
    source, key = spec["ref"]
    if source not in refs:
        raise ValueError(f"not run: call {source!r} did not return a result")
    if key not in refs[source]:
        raise KeyError(f"{key!r} (the result of call {source!r} has no such key)")
    return refs[source][key]


def _invoke(np, module, function, args):
    """Call the student's function; returns (its dict, names of array arguments it changed)."""
    func = getattr(module, function, None)
    if not callable(func):
        raise AttributeError(f"submission defines no function {function!r}")
    before = {name: (a.shape, a.dtype.str, a.tobytes()) for name, a in args.items() if type(a) is np.ndarray}
    out = func(**args)
    if not isinstance(out, dict):
        raise TypeError(f"{function} returned {type(out).__name__}, expected dict")
    if len(out) > MAX_KEYS or not all(isinstance(k, str) and len(k) <= 200 for k in out):
        raise TypeError(f"returned dict needs at most {MAX_KEYS} short string keys")
    mutated = [
        name for name, snap in before.items() if (args[name].shape, args[name].dtype.str, args[name].tobytes()) != snap
    ]
    return out, mutated


def _run_loop(np, module, loop, inputs):
    state = {name: _resolve(spec, inputs, {}) for name, spec in loop["state"].items()}
    for t, step in enumerate(loop["steps"]):
        env = dict(state)
        env.update({name: _resolve(spec, inputs, {}) for name, spec in step.items()})
        outs = {}
        for j, call in enumerate(loop["body"]):
            args = {name: _resolve(spec, inputs, outs, env) for name, spec in call["args"].items()}
            try:
                outs[str(j)] = _invoke(np, module, call["function"], args)[0]
            except BaseException as exc:
                try:
                    exc.gradcheck_where = f"step {t}, {call['function']}: "
                except BaseException:
                    pass
                raise
        for name, (j, key, coefficient) in loop["update"].items():
            if key not in outs[str(j)]:
                raise KeyError(f"step {t}: {loop['body'][j]['function']} returned no {key!r}")
            change = _to_float_array(np, outs[str(j)][key])
            if change.shape != np.shape(state[name]):
                raise ValueError(
                    f"step {t}: {key} has shape {change.shape} but {name} has shape {np.shape(state[name])}"
                )
            state[name] = state[name] + coefficient * change
    return state, []


def _run_call(np, module, call, inputs, refs):
    if "loop" in call:
        out, mutated = _run_loop(np, module, call["loop"], inputs)
    else:
        args = {name: _resolve(spec, inputs, refs) for name, spec in call["args"].items()}
        out, mutated = _invoke(np, module, call["function"], args)
    refs[call["id"]] = out
    arrays = [_to_float_array(np, value) for value in out.values()]
    entry = {
        "status": "ok",
        "keys": list(out),
        "shapes": [list(a.shape) for a in arrays],
        "kinds": [_kind(np, value) for value in out.values()],
        "mutated": mutated,
    }
    return entry, arrays


def run(box):
    import numpy as np  # before the submission can touch numpy

    _restrict_imports(box)
    with open(os.path.join(box, "calls.json")) as fh:
        spec = json.load(fh)
    inputs = _Inputs(np, box, spec.get("arrays", []))
    results = {"import_error": None, "calls": []}
    try:
        module = _load_module(box)
    except BaseException as exc:
        module, results["import_error"] = None, _describe(exc)
    refs, arrays, size, exhausted = {}, [], 0, False
    runner = os.getpid()  # a fork the submission made must never carry on as the runner
    for call in spec["calls"]:
        if os.getpid() != runner:
            os._exit(0)
        if module is None:
            entry = {
                "status": "error",
                "error_type": "ImportError",
                "message": "not run: the submission failed to import",
            }
        elif exhausted:  # the process state is suspect and every further call would be slow
            entry = {"status": "error", "error_type": "NotRun", "message": "not run: an earlier call ran out of memory"}
        else:
            try:
                entry, out = _run_call(np, module, call, inputs, refs)
                entry["offset"] = size
                added = sum(a.size for a in out)
                if (size + added) * 8 + 4096 > ARRAYS_CAP:
                    entry = _too_large((size + added) * 8)
                else:
                    arrays += out
                    size += added
            except BaseException as exc:
                entry = _describe(exc)
                exhausted = isinstance(exc, MemoryError)
        results["calls"].append(dict(entry, id=call["id"]))
    if os.getpid() != runner:
        os._exit(0)
    try:
        _write_arrays(np, box, arrays)
        _write_results(box, results)
    except OSError as exc:
        sys.stderr.write(f"gradcheck-sandbox: no room for the results: {exc!r}\n")
        sys.stderr.flush()
        os._exit(NO_ROOM)


def _too_large(nbytes):
    return {
        "status": "error",
        "error_type": "ResultTooLarge",
        "message": f"the results come to {nbytes / (1 << 20):.0f} MB: over the {ARRAYS_CAP >> 20} MB limit "
        "on what a submission may return (this call's result was dropped)",
    }


def _write_arrays(np, box, arrays):
    """Every returned array, flattened into one float64 vector (offsets and shapes in results.json)."""
    blob = np.concatenate([a.ravel() for a in arrays]) if arrays else np.zeros(0)
    np.save(os.path.join(box, "out", "arrays.npy"), blob, allow_pickle=False)


def _write_results(box, results):
    path = os.path.join(box, "out", "results.json")
    with open(path + ".tmp", "w") as fh:
        json.dump(results, fh)
    os.replace(path + ".tmp", path)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # skip the submission's atexit hooks and finalizers


# ---------------------------------------------------------------- zygote stage
def zygote(fd):
    """Fork server (namespaces mode): load numpy once, then per request fork a process that
    does what `launch` does, its pid 1 running the `run` stage in-process instead of
    exec'ing a new interpreter.  Never runs student code itself.  Protocol over the
    SOCK_SEQPACKET socket `fd`: request = config JSON + [stdout fd, stderr fd];
    replies {"pid": F} at once, then {"status": wait status} once F has exited and its
    process group has been killed (F is reaped only after that, so its pgid cannot be reused)."""
    import socket

    import numpy  # noqa: F401 - the point of the zygote

    _prctl(PR_SET_PDEATHSIG, 9)
    if len(sys.argv) > 3:
        load_seccomp(json.loads(sys.argv[3]))
    ctl = socket.socket(fileno=fd)
    while True:
        try:
            msg, fds, _, _ = socket.recv_fds(ctl, 1 << 20, 2)
        except OSError:
            os._exit(0)
        if not msg:
            os._exit(0)
        pid = os.fork()
        if pid == 0:
            _forked_launch(json.loads(msg), fds)
        for f in fds:
            os.close(f)
        ctl.send(json.dumps({"pid": pid}).encode())
        os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
        try:
            os.killpg(pid, 9)
        except OSError:
            pass
        _, status = os.waitpid(pid, 0)
        ctl.send(json.dumps({"status": status}).encode())


def _forked_launch(cfg, fds):
    code = SETUP_FAILED
    try:
        out, err = fds
        null = os.open("/dev/null", os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(out, 1)
        os.dup2(err, 2)
        os.closerange(3, resource.getrlimit(resource.RLIMIT_NOFILE)[0])  # the zygote's socket too
        os.setsid()
        _prctl(PR_SET_PDEATHSIG, 9)
        os.chdir(cfg["box"])
        code = launch(dict(cfg, in_process=True))
    except BaseException as exc:
        try:
            os.write(2, f"gradcheck-sandbox: setup failed: {exc!r}\n".encode())
        except OSError:
            pass
    os._exit(code)


def main(argv):
    mode, arg = argv[1], argv[2]
    if mode == "run":
        return run(arg)
    if mode == "zygote":
        return zygote(int(arg))
    cfg = json.loads(arg)
    if mode == "launch":
        load_seccomp(cfg.get("seccomp"))
        return launch(cfg)
    if mode == "session":
        try:
            load_seccomp(cfg.get("seccomp"))
            _exec_stage(cfg)
        except OSError as exc:
            sys.stderr.write(f"gradcheck-sandbox: setup failed: {exc!r}\n")
        return SETUP_FAILED
    raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
