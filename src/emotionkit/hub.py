"""Resolve a model name to a local model folder: bundled preset, local folder, or Hugging Face Hub repo.

Resolution order for :func:`resolve_model`:

1. ``None`` or a preset name (see :data:`PRESETS`): the bundled folder inside the
   installed package, checked against the preset's sha256 sums; works offline.
2. An existing local folder (as written by ``save_pretrained``).
3. A Hub repo id ``"org/name"``: ``config.json``, ``model.weights.h5`` and
   ``README.md`` are downloaded with ``huggingface_hub`` into its cache (honours
   ``HF_ENDPOINT``, ``HF_HOME``, ``HF_HUB_OFFLINE``). Repo ids registered in
   :data:`PRESETS` are verified against their sha256 sums.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from emotionkit.__about__ import __version__
from emotionkit.model_files import CARD_NAME, CONFIG_NAME, WEIGHTS_NAME

__all__ = ["Preset", "PRESETS", "DEFAULT_PRESET", "ModelNotFoundError", "resolve_model", "sha256_file"]

_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
ACCEPTED_FORMS = (
    "None or a preset name ({presets}) for a bundled model, "
    "a local folder holding config.json and model.weights.h5, "
    "or a Hugging Face Hub repo id such as 'org/name'"
)


class ModelNotFoundError(FileNotFoundError):
    """A model name could not be resolved to files (unknown, missing, or offline and not cached)."""


@dataclass(frozen=True)
class Preset:
    """A model registered in code.

    Attributes:
        name: The preset name accepted by ``from_pretrained``.
        description: One line for listings.
        bundled: Folder name under ``emotionkit/assets`` when shipped in the wheel.
        repo_id: Hub repo holding the same files, if published.
        sha256: Expected sha256 of each file (``config.json``, ``model.weights.h5``).
    """

    name: str
    description: str
    bundled: str | None = None
    repo_id: str | None = None
    sha256: dict[str, str] = field(default_factory=dict)


#: Registered models. The default is bundled, so it needs no network.
PRESETS: dict[str, Preset] = {}
DEFAULT_PRESET = "fer2013-mobilenetv2"


def _register(preset: Preset) -> None:
    PRESETS[preset.name] = preset


def sha256_file(path: str | Path) -> str:
    """Return the hex sha256 of a file.

    Args:
        path: The file.

    Returns:
        64 hex digits.

    Examples:
        >>> len(sha256_file(__file__))
        64
    """
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _verify(folder: Path, preset: Preset) -> None:
    for name, expected in preset.sha256.items():
        path = folder / name
        if not path.is_file():
            raise ModelNotFoundError(f"preset {preset.name!r}: {path} is missing")
        actual = sha256_file(path)
        if actual != expected:
            raise ValueError(
                f"preset {preset.name!r}: {path} has sha256 {actual}, expected {expected}; "
                "the file is corrupt or was replaced (delete it from the cache and retry)"
            )


def _accepted() -> str:
    return ACCEPTED_FORMS.format(presets=", ".join(sorted(PRESETS)) or "none")


def resolve_model(
    name_or_path: str | Path | None = None,
    *,
    revision: str | None = None,
    cache_dir: str | Path | None = None,
    local_files_only: bool = False,
    token: str | bool | None = None,
) -> Path:
    """Return a local folder holding the model's ``config.json`` and ``model.weights.h5``.

    Args:
        name_or_path: ``None`` (the default preset), a preset name, a local
            folder, or a Hub repo id.
        revision: Hub branch, tag or commit (Hub repos only).
        cache_dir: Hub cache folder (default: the ``huggingface_hub`` cache).
        local_files_only: Never touch the network; use cached Hub files only.
        token: Hub token (``None`` uses the logged-in token, if any).

    Returns:
        The model folder.

    Raises:
        ModelNotFoundError: If the name resolves to nothing (the message lists
            the accepted forms), a file is missing, or a Hub repo is offline and
            not cached.
        ValueError: If a registered file fails its sha256 check.
        TypeError: If ``name_or_path`` is not a string, path or ``None``.

    Examples:
        >>> (resolve_model() / "config.json").is_file()
        True
    """
    if name_or_path is None:
        name_or_path = DEFAULT_PRESET
    if not isinstance(name_or_path, (str, Path)):
        raise TypeError(
            f"model must be a str, a path or None, got {type(name_or_path).__name__}; accepted: {_accepted()}"
        )
    text = str(name_or_path)
    preset = PRESETS.get(text)
    if preset is not None and preset.bundled:
        folder = Path(str(resources.files("emotionkit") / "assets" / preset.bundled))
        _verify(folder, preset)
        return folder
    path = Path(text).expanduser()
    if path.is_dir():
        return path
    if preset is None:
        preset = next((p for p in PRESETS.values() if p.repo_id == text), None)
    repo_id = preset.repo_id if preset is not None and preset.repo_id else text
    if path.exists() or not _REPO_ID.match(repo_id) or text.startswith((".", "/", "~")):
        raise ModelNotFoundError(f"model {text!r} not found: it is not a folder; accepted: {_accepted()}")
    folder = _download(repo_id, revision, cache_dir, local_files_only, token)
    if preset is not None:
        _verify(folder, preset)
    return folder


def _download(
    repo_id: str, revision: str | None, cache_dir: str | Path | None, local_files_only: bool, token: str | bool | None
) -> Path:
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import (
        HfHubHTTPError,
        LocalEntryNotFoundError,
        RemoteEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    folder: Path | None = None
    for filename in (CONFIG_NAME, WEIGHTS_NAME, CARD_NAME):
        try:
            path = hf_hub_download(
                repo_id,
                filename,
                revision=revision,
                cache_dir=cache_dir,
                local_files_only=local_files_only,
                token=token,
                library_name="emotionkit",
                library_version=__version__,
            )
        except LocalEntryNotFoundError:
            if filename == CARD_NAME and folder is not None:
                continue
            raise ModelNotFoundError(
                f"{filename} of Hub repo {repo_id!r} is not in the local cache and the Hub cannot be "
                "reached (offline mode or no network); connect once, or pass a local folder. "
                f"Accepted: {_accepted()}"
            ) from None
        except RemoteEntryNotFoundError:
            if filename == CARD_NAME:
                continue
            raise ModelNotFoundError(
                f"Hub repo {repo_id!r} (revision {revision or 'main'}) has no {filename}; "
                f"an emotionkit model repo holds {CONFIG_NAME} and {WEIGHTS_NAME}"
            ) from None
        except RepositoryNotFoundError:
            raise ModelNotFoundError(
                f"Hub repo {repo_id!r} not found (or private: pass token=); accepted: {_accepted()}"
            ) from None
        except RevisionNotFoundError:
            raise ModelNotFoundError(f"Hub repo {repo_id!r} has no revision {revision!r}") from None
        except HfHubHTTPError as exc:
            raise ModelNotFoundError(f"downloading {filename} of Hub repo {repo_id!r} failed: {exc}") from None
        folder = Path(path).parent
    assert folder is not None
    return folder


_register(
    Preset(
        name=DEFAULT_PRESET,
        description="MobileNetV2 (alpha 0.35, 96 px) trained on FER-2013; bundled in the wheel",
        bundled="fer2013-mobilenetv2",
        sha256={
            "config.json": "30b17ecec5b790092c7ffbd6fd4a6bb18bc3324bab1b38815cbeeabbba220996",
            "model.weights.h5": "c7176c8a8edba6406a8eb39821562827e2a1c2e624750d5e7b3bd53f09be8b50",
        },
    )
)
