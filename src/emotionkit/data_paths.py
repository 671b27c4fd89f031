"""Deprecated: where the repository's own data lives is not the installed library's business.

Kept for one release with a ``DeprecationWarning``. Pass data locations explicitly
(``emotionkit-train --data``), or set ``EMOTIONKIT_DATA``.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

__all__ = ["shared_root"]

warnings.warn(
    "emotionkit.data_paths is deprecated and will be removed; pass data paths explicitly or set EMOTIONKIT_DATA",
    DeprecationWarning,
    stacklevel=2,
)


def shared_root() -> Path:
    """Return ``$EMOTIONKIT_DATA``, else ``../shared`` relative to the working directory.

    Returns:
        The folder (it may not exist).
    """
    env = os.environ.get("EMOTIONKIT_DATA")
    return Path(env) if env else Path.cwd().parent / "shared"
