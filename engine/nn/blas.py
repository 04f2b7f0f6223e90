"""BLAS routines called directly on the hot path (the update, the statistics): one memory pass, no
temporaries, and looked up once per dtype (the lookup costs more than a small call)."""
from __future__ import annotations

from functools import lru_cache

from scipy.linalg import blas


@lru_cache(maxsize=None)
def blas_func(name: str, dtype) -> callable:
    """The BLAS routine ``name`` ("axpy", "dot", "asum" ...) for a dtype."""
    return blas.get_blas_funcs(name, dtype=dtype)
