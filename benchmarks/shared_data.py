"""Where the repository's own data lives (FER-2013, jaffe-dev, the clip, ImageNet weights).

Used by the benchmarks, the tools and the tests; not part of the installed library.
``$EMOTIONKIT_DATA`` wins; otherwise a ``shared/`` folder beside the checkout.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def shared_root() -> Path:
    """Return the folder holding ``data/`` and ``weights/`` (it may not exist; callers report what they miss)."""
    env = os.environ.get("EMOTIONKIT_DATA")
    if env:
        return Path(env)
    for candidate in (Path.cwd().parent / "shared", ROOT.parent / "shared"):
        if candidate.is_dir():
            return candidate
    return ROOT.parent / "shared"
