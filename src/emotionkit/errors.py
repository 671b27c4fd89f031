"""emotionkit's own exceptions.

Every error that emotionkit raises on purpose about a *model* derives from
[`EmotionkitError`][emotionkit.errors.EmotionkitError]; each also derives from the built-in
exception that code written before these classes existed catches
(`FileNotFoundError`, `ValueError`), so ``except ValueError`` keeps working.
Bad arguments (a wrong type, a value out of range) raise plain `TypeError` /
`ValueError` with a message that says what was received and what is accepted.

Examples:
    >>> from emotionkit.errors import EmotionkitError, InvalidModelError
    >>> issubclass(InvalidModelError, (EmotionkitError, ValueError))
    True
"""

from __future__ import annotations

__all__ = ["EmotionkitError", "InvalidModelError", "ModelNotFoundError"]


class EmotionkitError(Exception):
    """Base class of the errors emotionkit raises about models and their files."""


class ModelNotFoundError(EmotionkitError, FileNotFoundError):
    """A model name could not be resolved to files (unknown, missing, unreachable, or offline and not cached)."""


class InvalidModelError(EmotionkitError, ValueError):
    """A model folder exists but cannot be used: an invalid ``config.json`` (the file and field are named),
    a weights file that fails its sha256 check, or weights that do not fit the architecture."""
