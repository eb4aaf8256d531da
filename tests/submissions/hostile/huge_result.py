"""Returns an array larger than the results limit (10^7 float64 entries, 80 MB; `entries` sets it)."""
import numpy as np


def probe(entries=10_000_000):
    return {"big": np.zeros(int(entries))}


def small():
    return {"x": np.arange(3.0)}
