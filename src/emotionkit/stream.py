"""Deprecated module name: the streaming API now lives in [`emotionkit.streaming`][emotionkit.streaming].

``emotionkit.stream`` is the *function*. Importing this module (``import emotionkit.stream``
or ``from emotionkit.stream import ...``) still works for one release, with a
``DeprecationWarning``; the module object is callable, so ``emotionkit.stream(...)``
keeps calling the function even after the old import.
"""

from __future__ import annotations

import sys
import types
import warnings
from typing import Any

from emotionkit.streaming import FaceTracker, FrameResult, Stream, VideoSource, stream

__all__ = ["FaceTracker", "FrameResult", "Stream", "VideoSource", "stream"]

warnings.warn(
    "the module emotionkit.stream is deprecated: import from emotionkit.streaming (emotionkit.stream is the function)",
    DeprecationWarning,
    stacklevel=2,
)


class _CallableModule(types.ModuleType):
    def __call__(self, *args: Any, **kwargs: Any) -> Stream:
        return stream(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
