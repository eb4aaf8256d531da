"""What the parent asks of a sandboxed submission, and how it is written down.

A run is a list of steps, executed in order by ``child.py``:

* :class:`Call` — call ``function`` of the submission with keyword ``args``.  An
  argument is a JSON scalar/list, an ndarray (every call gets a fresh copy), or a
  :class:`Ref` to what an *earlier* call returned under a key — the raw object, not
  a copy and not converted, which is exactly what the student's own pipeline would
  pass on (``compute_gradients(**forward_pass(...))``).
* :class:`Loop` — a small fixed program run entirely in the child (e.g. SGD with
  the student's own functions): for every entry of ``steps`` bind its names, run
  the ``body`` calls (whose args may be :class:`Var` names — step bindings or state
  — or ``Ref(str(j), key)`` to body call j of the same step), then update each
  state array ``state[name] += coefficient * result_j[key]``.  Its result is the
  final state.

On disk: ``calls.json`` (JSON only) and ``in/arrays.npy``, one packed uint8 array
holding the bytes of every distinct argument array, which the child reads with
``allow_pickle=False``; each array is described by dtype, shape and byte offset.
Two files however many calls: a call costs microseconds, not file operations.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["Call", "Ref", "Var", "Loop", "Prepared", "validate", "encode"]


@dataclass(frozen=True)
class Call:
    function: str
    args: dict
    id: str


@dataclass(frozen=True)
class Ref:
    """The raw value an earlier call (by id; inside a Loop body: by index) returned under ``key``."""

    call: str
    key: str


@dataclass(frozen=True)
class Var:
    """Inside a Loop body: a per-step binding or a state variable, by name."""

    name: str


@dataclass(frozen=True)
class Loop:
    id: str
    steps: tuple  # of {name: value}: what each step binds
    state: dict  # {name: ndarray}: updated after each step, returned at the end
    body: tuple  # of Call (their ids are ignored)
    update: dict = field(default_factory=dict)  # {state name: (body index, key, coefficient)}


def _check_args(args: dict, where: str, *, refs, names=None) -> None:
    if not isinstance(args, dict) or not all(isinstance(k, str) and k.isidentifier() for k in args):
        raise ValueError(f"{where}: argument names must be identifiers, got {args!r}"[:300])
    for name, value in args.items():
        if isinstance(value, Ref) and value.call not in refs:
            raise ValueError(f"{where}: argument {name!r} refers to {value.call!r}, not an earlier call")
        if isinstance(value, Var) and (names is None or value.name not in names):
            raise ValueError(f"{where}: argument {name!r} uses unknown variable {value.name!r}")


def validate(calls) -> None:
    """Raise ValueError for a malformed run (the caller's mistake, never the student's)."""
    seen: set[str] = set()
    for call in calls:
        if not isinstance(call, (Call, Loop)) or not isinstance(call.id, str) or call.id in seen:
            raise ValueError(f"calls must be Call or Loop objects with unique string ids: {call!r}"[:300])
        if isinstance(call, Call):
            if not isinstance(call.function, str) or not call.function.isidentifier():
                raise ValueError(f"function and argument names must be identifiers: {call!r}"[:300])
            _check_args(call.args, f"call {call.id!r}", refs=seen)
        else:
            _validate_loop(call)
        seen.add(call.id)


def _validate_loop(loop: Loop) -> None:
    names = set(loop.state)
    for step in loop.steps:
        names |= set(step)
    if not loop.body or not all(isinstance(c, Call) and c.function.isidentifier() for c in loop.body):
        raise ValueError(f"loop {loop.id!r}: body must be a non-empty tuple of Calls")
    for j, call in enumerate(loop.body):
        _check_args(call.args, f"loop {loop.id!r} body[{j}]", refs={str(i) for i in range(j)}, names=names)
    for name, target in loop.update.items():
        ok = (
            name in loop.state
            and isinstance(target, tuple)
            and len(target) == 3
            and isinstance(target[0], int)
            and 0 <= target[0] < len(loop.body)
            and isinstance(target[1], str)
        )
        if not ok:
            raise ValueError(f"loop {loop.id!r}: bad update {name!r}: {target!r}")


class _Packer:
    """Collects argument arrays into one byte blob, storing identical arrays once."""

    def __init__(self):
        self.chunks: list[bytes] = []
        self.table: list[dict] = []
        self.index: dict = {}
        self.size = 0

    def add(self, value: np.ndarray) -> int:
        arr = np.ascontiguousarray(value)
        if arr.dtype.kind not in "biufc" or arr.dtype.fields is not None:
            raise ValueError(f"array arguments must be numeric, got dtype {arr.dtype}")
        arr = arr.astype(arr.dtype.newbyteorder("="), copy=False)
        data = arr.tobytes()
        key = (arr.dtype.str, arr.shape, data)
        if key not in self.index:
            pad = -self.size % 16
            self.chunks.append(b"\0" * pad + data)
            self.size += pad
            self.table.append({"dtype": arr.dtype.str, "shape": list(arr.shape), "offset": self.size})
            self.size += len(data)
            self.index[key] = len(self.table) - 1
        return self.index[key]

    def blob(self) -> np.ndarray:
        return np.frombuffer(b"".join(self.chunks), dtype=np.uint8)


def _spec(value, packer: _Packer):
    if isinstance(value, Ref):
        return {"ref": [value.call, value.key]}
    if isinstance(value, Var):
        return {"var": value.name}
    if isinstance(value, np.ndarray):
        return {"array": packer.add(value)}
    return {"value": value.item() if isinstance(value, np.generic) else value}


def _encode_args(args: dict, packer: _Packer) -> dict:
    return {name: _spec(value, packer) for name, value in args.items()}


class Prepared(tuple):
    """Calls validated and encoded once, for many runs (every student of a batch gets the
    same calls): a tuple of the calls, plus the JSON text and the packed argument bytes."""

    def __new__(cls, calls):
        calls = tuple(calls)
        validate(calls)
        self = super().__new__(cls, calls)
        self.text, self.blob = _encode(calls)
        return self


def encode(calls, box: Path) -> None:
    """Write ``box/calls.json`` and ``box/in/arrays.npy`` for ``calls`` (already validated)."""
    text, blob = (calls.text, calls.blob) if isinstance(calls, Prepared) else _encode(calls)
    (box / "calls.json").write_text(text)
    np.save(box / "in" / "arrays.npy", blob, allow_pickle=False)


def _encode(calls) -> tuple[str, np.ndarray]:
    packer, entries = _Packer(), []
    for call in calls:
        if isinstance(call, Call):
            entries.append({"id": call.id, "function": call.function, "args": _encode_args(call.args, packer)})
            continue
        entries.append(
            {
                "id": call.id,
                "loop": {
                    "steps": [_encode_args(step, packer) for step in call.steps],
                    "state": _encode_args(call.state, packer),
                    "body": [{"function": c.function, "args": _encode_args(c.args, packer)} for c in call.body],
                    "update": {name: [j, key, float(coef)] for name, (j, key, coef) in call.update.items()},
                },
            }
        )
    try:
        text = json.dumps({"calls": entries, "arrays": packer.table}, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"call arguments must be arrays or JSON values: {exc}") from None
    return text, packer.blob()
