"""Deprecated alias of [`emotionkit.runtime`][emotionkit.runtime] (removed in the next release)."""

from __future__ import annotations

import warnings

from emotionkit.runtime import MAX_BATCH, compile_forward

__all__ = ["MAX_BATCH", "compile_forward"]

warnings.warn(
    "emotionkit.inference is deprecated: import compile_forward from emotionkit.runtime",
    DeprecationWarning,
    stacklevel=2,
)
