"""Tries to import the grader: plainly, after removing the import blocker and putting
the repository on sys.path, and straight from the package's file."""
import importlib.util
import os
import sys


def _attempt(fn):
    try:
        fn()
        return 1.0
    except Exception:  # noqa: BLE001
        return 0.0


def _plain():
    import gradcheck  # noqa: F401


def _bypass(repo):
    sys.meta_path[:] = [f for f in sys.meta_path if "Blocker" not in type(f).__name__]
    sys.path.insert(0, repo)
    sys.modules.pop("gradcheck", None)
    import gradcheck.model.network  # noqa: F401


def _by_file(repo):
    spec = importlib.util.spec_from_file_location("gc_direct", os.path.join(repo, "gradcheck", "__init__.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)


def attack(repo):
    root = repo[0]
    return {"plain": _attempt(_plain), "bypass": _attempt(lambda: _bypass(root)),
            "by_file": _attempt(lambda: _by_file(root)),
            "repo_visible": float(os.path.exists(os.path.join(root, "gradcheck")))}


def from_extra(site):
    """Import a `gradcheck` package that sits in `site` (a directory that is exposed)."""
    sys.meta_path[:] = [f for f in sys.meta_path if "Blocker" not in type(f).__name__]
    sys.path.insert(0, site[0])
    sys.modules.pop("gradcheck", None)
    found = _attempt(lambda: __import__("gradcheck").SECRET)
    return {"found": found, "listing": float(len(os.listdir(os.path.join(site[0], "gradcheck"))))}
