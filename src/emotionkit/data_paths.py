"""Where shared data lives: ``$EMOTIONKIT_DATA`` or a ``shared/`` folder beside the project."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["shared_root"]


def shared_root() -> Path:
    """Return the folder holding ``data/`` and ``weights/`` (training data and ImageNet weights).

    ``$EMOTIONKIT_DATA`` wins; otherwise ``../shared`` relative to the working
    directory, then relative to this source tree's project root.

    Returns:
        The folder (it may not exist; callers report what they miss).

    Examples:
        >>> isinstance(shared_root(), Path)
        True
    """
    env = os.environ.get("EMOTIONKIT_DATA")
    if env:
        return Path(env)
    for candidate in (Path.cwd().parent / "shared", Path(__file__).resolve().parents[3] / "shared"):
        if candidate.is_dir():
            return candidate
    return Path.cwd().parent / "shared"
