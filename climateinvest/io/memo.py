"""Results kept per city object: what the pipeline would otherwise rebuild from the same inputs.

The grant fixed point selects two or three times per run and the explorer reruns after every
change, each time rebuilding the same flows, baselines and eligibility tables from the same
city, and solving some of the same MILPs again. :func:`cached` keeps the last ones, keyed on the
city *object* (or another owner) and the arguments; identical inputs give the identical (shared,
read-only or copied) value, so results do not change.
"""
from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import TypeVar

import numpy as np
import pandas as pd

T = TypeVar("T")

CACHE_SIZE = 64  # values kept per process (the last ones built or used) ...
CACHE_BYTES = 256 * 2**20  # [bytes] ... holding at most this much (the oldest go first)
_CACHE: OrderedDict[tuple, tuple[object, object, int]] = OrderedDict()
_CACHE_LOCK = threading.Lock()


def cached(key: tuple, city: object, build: Callable[[], T], keep: Callable[[T], bool] | None = None) -> T:
    """``build()`` for ``key`` of this very ``city`` object, built once and then kept (the last
    :data:`CACHE_SIZE`, at most :data:`CACHE_BYTES`). An entry holds its city, so its ``id``
    cannot be reused while kept, and answers only for that object: another city, or a copy
    (``dataclasses.replace``), builds anew.
    A CityData is frozen and its tables are never changed in place after ``load_city``
    (call :func:`clear_cache` after changing one in place). ``keep(value)`` False: returned,
    not kept.
    """
    key = (id(city), *key)
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
        if hit is not None and hit[0] is city:
            _CACHE.move_to_end(key)
            return hit[1]  # type: ignore[return-value]
    value = build()
    if keep is not None and not keep(value):
        return value
    size = _nbytes(value)
    with _CACHE_LOCK:
        _CACHE[key] = (city, value, size)
        total = sum(entry[2] for entry in _CACHE.values())
        while len(_CACHE) > 1 and (len(_CACHE) > CACHE_SIZE or total > CACHE_BYTES):
            total -= _CACHE.popitem(last=False)[1][2]
    return value


def _nbytes(value: object) -> int:
    """[bytes] an array, a DataFrame's values or the array fields of a dataclass (else 0)."""
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    if isinstance(value, pd.DataFrame):
        return int(value.memory_usage(deep=False).sum())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return sum(_nbytes(getattr(value, f.name)) for f in dataclasses.fields(value)
                   if isinstance(getattr(value, f.name), np.ndarray))
    return 0


def clear_cache() -> None:
    """Forget everything kept (tests; a city's tables changed in place)."""
    with _CACHE_LOCK:
        _CACHE.clear()


def read_only(value: T) -> T:
    """``value`` (a dataclass of arrays) with every numpy array field made read-only: a kept
    value is shared by every caller, so none may change it.
    """
    for f in dataclasses.fields(value):  # type: ignore[arg-type]
        a = getattr(value, f.name)
        if isinstance(a, np.ndarray):
            a.flags.writeable = False
    return value
