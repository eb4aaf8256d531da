"""Parameter structures ↔ one flat vector: an array, or dicts and lists (nested) of named arrays.

:func:`flatten` turns ``params`` into a :class:`Tree` (where each array sits, its shape and
dtype) and the flat float64 vector p that the finite-difference engine perturbs;
:meth:`Tree.build` turns a vector back into the structure (numpy arrays, 0-d leaves as numpy
scalars), :meth:`Tree.name` names flat entry i by its path (``W1[0, 2]``,
``layers[1].b[3]``), and :meth:`Tree.match` flattens a gradient that must have the same
structure and shapes, naming the first entry that does not (``grad['W1']: expected shape
(3, 4), got (4, 3)``).  Leaves are anything numpy converts: lists, numpy, torch (detached)
and jax CPU arrays.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

from gradcheck.model.shapes import as_float_array

__all__ = ["Leaf", "Tree", "dotted", "flatten", "plain", "subscript"]


class Leaf(NamedTuple):
    path: tuple  # dict keys and list indices from the root
    shape: tuple[int, ...]
    dtype: np.dtype  # the caller's dtype (float32 is judged at float32's precision)
    offset: int  # first entry in the flat vector
    size: int


def subscript(argument: str, path: tuple) -> str:
    """``grad['layers'][1]['b']``: the path as Python would index it (error messages)."""
    return argument + "".join(f"[{k!r}]" for k in path)


def dotted(path: tuple) -> str:
    """``layers[1].b``: the path as a name (reports); the empty path (a bare array) is ``p``."""
    out = ""
    for k in path:
        out += f"[{k}]" if isinstance(k, int) else (f".{k}" if out else str(k))
    return out or "p"


def plain(value):
    """torch tensors that require grad refuse np.asarray: detach them (CPU only, no copy)."""
    detach = getattr(value, "detach", None)
    return detach() if callable(detach) else value


def _is_sequence(value) -> bool:
    return isinstance(value, (list, tuple))


def _holds_arrays(value) -> bool:
    """A list is a structure when it holds dicts or arrays (``[W1, b1]``); a list of numbers
    (nested or not) is one array."""
    return any(
        isinstance(v, Mapping) or len(getattr(v, "shape", ())) > 0 or (_is_sequence(v) and _holds_arrays(v))
        for v in value
    )


class Tree(NamedTuple):
    leaves: tuple[Leaf, ...]
    template: Any  # the structure with each array replaced by its Leaf
    size: int

    def build(self, p: np.ndarray):
        """The structure with the entries of the flat vector ``p`` (views into it)."""

        def rebuild(node):
            if isinstance(node, Leaf):
                block = p[node.offset : node.offset + node.size].reshape(node.shape)
                return block[()] if node.shape == () else block
            if isinstance(node, dict):
                return {k: rebuild(v) for k, v in node.items()}
            items = [rebuild(v) for v in node]
            return items if isinstance(node, list) else tuple(items)

        return rebuild(self.template)

    def locate(self, i: int) -> tuple[Leaf, tuple[int, ...]]:
        offsets = [leaf.offset for leaf in self.leaves]
        leaf = self.leaves[int(np.searchsorted(offsets, i, side="right")) - 1]
        return leaf, tuple(int(j) for j in np.unravel_index(int(i) - leaf.offset, leaf.shape)) if leaf.shape else ()

    def name(self, i: int) -> str:
        """Flat entry i by its path: ``W1[0, 2]``, ``layers[1].b[3]``, ``lr`` (a 0-d leaf)."""
        leaf, index = self.locate(i)
        return dotted(leaf.path) + (f"[{', '.join(map(str, index))}]" if leaf.shape else "")

    def match(self, grad, argument: str = "grad") -> tuple[np.ndarray, list[np.dtype]]:
        """``grad`` flattened in the order of the parameters, with its leaves' dtypes; a ValueError
        or TypeError naming the first entry whose structure, shape or values differ."""
        out, dtypes = np.empty(self.size), []

        def walk(node, value, path):
            where = subscript(argument, path)
            if isinstance(node, Leaf):
                arr = as_float_array(plain(value), where)
                if arr.shape != node.shape:
                    raise ValueError(f"{where}: expected shape {node.shape}, got {arr.shape}")
                out[node.offset : node.offset + node.size] = arr.ravel()
                dtypes.append(arr.dtype)
            elif isinstance(node, dict):
                if not isinstance(value, Mapping):
                    raise TypeError(f"{where}: expected a dict with keys {list(node)}, got {type(value).__name__}")
                missing, extra = [k for k in node if k not in value], [k for k in value if k not in node]
                if missing or extra:
                    raise ValueError(
                        f"{where}: expected the keys of the parameters {list(node)}"
                        + (f"; missing {missing}" if missing else "")
                        + (f"; unexpected {extra}" if extra else "")
                    )
                for k, v in node.items():
                    walk(v, value[k], path + (k,))
            else:
                if not _is_sequence(value):
                    raise TypeError(f"{where}: expected a list of {len(node)} entries, got {type(value).__name__}")
                if len(value) != len(node):
                    raise ValueError(f"{where}: expected a list of {len(node)} entries, got {len(value)}")
                for k, (v, w) in enumerate(zip(node, value)):
                    walk(v, w, path + (k,))

        walk(self.template, grad, ())
        return out, dtypes


def flatten(params, argument: str = "params") -> tuple[Tree, np.ndarray]:
    """(Tree, p): the structure of ``params`` and its entries as one float64 vector (dict order,
    then list order, each array in C order).  Errors name the entry (``params['W1']: …``)."""
    leaves, chunks, offset = [], [], 0

    def walk(value, path):
        nonlocal offset
        if isinstance(value, Mapping):
            if not value:
                raise ValueError(f"{subscript(argument, path)}: expected a non-empty dict of arrays, got {{}}")
            return {k: walk(v, path + (k,)) for k, v in value.items()}
        if _is_sequence(value) and _holds_arrays(value):
            items = [walk(v, path + (k,)) for k, v in enumerate(value)]
            return items if isinstance(value, list) else tuple(items)
        arr = as_float_array(plain(value), subscript(argument, path))
        if arr.size == 0:
            raise ValueError(f"{subscript(argument, path)}: expected at least one entry, got shape {arr.shape}")
        leaf = Leaf(path, arr.shape, arr.dtype, offset, arr.size)
        leaves.append(leaf)
        chunks.append(arr.astype(np.float64).ravel())
        offset += arr.size
        return leaf

    template = walk(params, ())
    return Tree(tuple(leaves), template, offset), np.concatenate(chunks)
