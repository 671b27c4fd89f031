"""Resolve a model name to a local model folder: bundled preset, local folder, or Hugging Face Hub repo.

Resolution order for [`resolve_model`][emotionkit.hub.resolve_model]:

1. ``None`` or a preset name (see [`PRESETS`][emotionkit.hub.PRESETS]): the bundled folder inside the
   installed package, checked against the preset's sha256 sums; works offline.
2. An existing local folder (as written by ``save_pretrained``).
3. A Hub repo id ``"org/name"``: ``config.json``, ``model.weights.h5`` and
   ``README.md`` are downloaded with ``huggingface_hub`` into its cache (honours
   ``HF_ENDPOINT``, ``HF_HOME``, ``HF_HUB_OFFLINE``). Repo ids registered in
   [`PRESETS`][emotionkit.hub.PRESETS] are verified against their sha256 sums.

Presets are data: one JSON file per preset in ``emotionkit/assets/presets/``
(fields of [`Preset`][emotionkit.hub.Preset]). A Hub that accepts connections but
does not answer fails after ``timeout`` seconds (``$EMOTIONKIT_HUB_TIMEOUT``, default
10) with a [`ModelNotFoundError`][emotionkit.errors.ModelNotFoundError], falling back to
cached files when there are any.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from emotionkit.__about__ import __version__
from emotionkit.errors import InvalidModelError, ModelNotFoundError
from emotionkit.model_files import CARD_NAME, CONFIG_NAME, WEIGHTS_NAME, check_files, sha256_file
from emotionkit.runtimes import MODEL_FILES

__all__ = [
    "DEFAULT_PRESET",
    "DEFAULT_TIMEOUT",
    "PRESETS",
    "ModelNotFoundError",
    "Preset",
    "hub_timeout",
    "resolve_model",
    "sha256_file",
]

_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
ACCEPTED_FORMS = (
    "None or a preset name ({presets}) for a bundled model, "
    "a local folder holding config.json and a model file, "
    "or a Hugging Face Hub repo id such as 'org/name'"
)


@dataclass(frozen=True)
class Preset:
    """A model registered in code.

    Attributes:
        name: The preset name accepted by ``from_pretrained``.
        description: One line for listings.
        bundled: Folder name under ``emotionkit/assets`` when shipped in the wheel.
        repo_id: Hub repo holding the same files, if published.
        sha256: Expected sha256 of files: ``config.json``, which in turn records the sums of the model
            files (checked when one is loaded); older presets also list ``model.weights.h5``.
    """

    name: str
    description: str
    bundled: str | None = None
    repo_id: str | None = None
    sha256: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_file(cls, path: str | Path) -> Preset:
        """Read a preset JSON file (the fields of this class).

        Args:
            path: The file.

        Returns:
            The preset.

        Raises:
            emotionkit.errors.InvalidModelError: If a field is unknown, missing or of the wrong type.

        Examples:
            >>> Preset.from_file(next(_preset_files())).name
            'fer2013-mobilenetv2'
        """
        data: Any = json.loads(Path(path).read_text(encoding="utf-8"))
        if (
            not isinstance(data, dict)
            or set(data) - set(cls.__dataclass_fields__)
            or not {"name", "description"} <= set(data)
        ):
            raise InvalidModelError(f"{path}: a preset is an object with name, description[, bundled, repo_id, sha256]")
        if not all(isinstance(data.get(k), (str, type(None))) for k in ("name", "description", "bundled", "repo_id")):
            raise InvalidModelError(f"{path}: name, description, bundled and repo_id must be strings")
        sums = data.get("sha256", {})
        if not isinstance(sums, dict) or not all(isinstance(v, str) and len(v) == 64 for v in sums.values()):
            raise InvalidModelError(f"{path}: field 'sha256' must map file names to sha256 hex digests")
        return cls(**data)


def _preset_files() -> Any:
    folder = resources.files("emotionkit") / "assets" / "presets"
    return (entry for entry in sorted(folder.iterdir(), key=lambda e: e.name) if entry.name.endswith(".json"))


PRESETS: dict[str, Preset] = {preset.name: preset for preset in map(Preset.from_file, _preset_files())}
"""Registered models, read from ``emotionkit/assets/presets/*.json``. The default is bundled: no network."""
DEFAULT_PRESET = "fer2013-mobilenetv2"
DEFAULT_TIMEOUT = 10.0
"""Seconds to wait for the Hub to answer a request, unless ``timeout`` or ``$EMOTIONKIT_HUB_TIMEOUT`` says otherwise."""


def hub_timeout(timeout: float | None = None) -> float:
    """Return the Hub timeout in seconds: ``timeout``, else ``$EMOTIONKIT_HUB_TIMEOUT``, else 10.

    Args:
        timeout: An explicit value.

    Returns:
        The timeout.

    Raises:
        ValueError: If the value (or the variable) is not a positive number.

    Examples:
        >>> hub_timeout(3)
        3.0
    """
    raw: Any = timeout if timeout is not None else os.environ.get("EMOTIONKIT_HUB_TIMEOUT", DEFAULT_TIMEOUT)
    try:
        value = float(raw)
    except (TypeError, ValueError):
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        where = "timeout" if timeout is not None else "EMOTIONKIT_HUB_TIMEOUT"
        raise ValueError(f"{where} must be a positive number of seconds, got {raw!r}")
    return value


def _verify(folder: Path, preset: Preset) -> None:
    check_files(folder, preset.sha256, f"preset {preset.name!r}")


def _accepted() -> str:
    return ACCEPTED_FORMS.format(presets=", ".join(sorted(PRESETS)) or "none")


def resolve_model(
    name_or_path: str | Path | None = None,
    *,
    revision: str | None = None,
    cache_dir: str | Path | None = None,
    local_files_only: bool = False,
    token: str | bool | None = None,
    timeout: float | None = None,
) -> Path:
    """Return a local folder holding the model's ``config.json`` and ``model.weights.h5``.

    Args:
        name_or_path: ``None`` (the default preset), a preset name, a local
            folder, or a Hub repo id.
        revision: Hub branch, tag or commit (Hub repos only).
        cache_dir: Hub cache folder (default: the ``huggingface_hub`` cache).
        local_files_only: Never touch the network; use cached Hub files only.
        token: Hub token (``None`` uses the logged-in token, if any).
        timeout: Seconds to wait for the Hub to answer (see [`hub_timeout`][emotionkit.hub.hub_timeout]).

    Returns:
        The model folder.

    Raises:
        emotionkit.errors.ModelNotFoundError: If the name resolves to nothing (the message
            lists the accepted forms), a file is missing, or a Hub repo is unreachable,
            does not answer within ``timeout``, or is offline, and is not cached.
        emotionkit.errors.InvalidModelError: If a registered file fails its sha256 check.
        TypeError: If ``name_or_path`` is not a string, path or ``None``.
        ValueError: If ``timeout`` is not a positive number.

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
    if not text.strip():
        raise ModelNotFoundError(f"model name is empty; accepted: {_accepted()}")
    seconds = hub_timeout(timeout)
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
    folder = _download(repo_id, revision, cache_dir, local_files_only, token, seconds)
    if preset is not None:
        _verify(folder, preset)
    return folder


def _hub_answers(repo_id: str, revision: str | None, token: str | bool | None, timeout: float) -> bool:
    """One HEAD request for config.json with ``timeout`` and no retries: does the Hub answer at all?

    ``hf_hub_download`` retries a timed-out request five times with a longer timeout when
    nothing is cached, which leaves a caller waiting for minutes on a Hub that accepts
    connections and never answers. HTTP errors (404, 401, ...) count as answers: the
    download reports them with their own messages.
    """
    from huggingface_hub import get_hf_file_metadata, hf_hub_url
    from huggingface_hub.errors import HfHubHTTPError

    try:
        get_hf_file_metadata(
            hf_hub_url(repo_id, CONFIG_NAME, revision=revision),
            token=token,
            timeout=timeout,
            library_name="emotionkit",
            library_version=__version__,
        )
    except HfHubHTTPError:
        return True
    except Exception:  # timeouts and connection errors of whichever HTTP client huggingface_hub uses
        return False
    return True


def _listed_model_files(config_path: Path) -> list[str]:
    """The model files a downloaded ``config.json`` lists (``model.weights.h5`` when it lists none)."""
    try:
        listed = json.loads(config_path.read_text(encoding="utf-8")).get("files")
    except (ValueError, UnicodeDecodeError, AttributeError):
        listed = None  # read_config reports the invalid file with its field
    names = [n for n in listed if n in MODEL_FILES.values()] if isinstance(listed, dict) else []
    return names or [WEIGHTS_NAME]


def _download(
    repo_id: str,
    revision: str | None,
    cache_dir: str | Path | None,
    local_files_only: bool,
    token: str | bool | None,
    timeout: float,
) -> Path:
    from huggingface_hub import constants, hf_hub_download
    from huggingface_hub.errors import (
        HfHubHTTPError,
        LocalEntryNotFoundError,
        RemoteEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    if not (local_files_only or constants.HF_HUB_OFFLINE) and not _hub_answers(repo_id, revision, token, timeout):
        try:
            return _download(repo_id, revision, cache_dir, True, token, timeout)
        except ModelNotFoundError:
            raise ModelNotFoundError(
                f"the Hub at {constants.ENDPOINT} did not answer within {timeout:g} s for {repo_id!r} and the "
                "model is not cached; check the network, raise the timeout (timeout=... or "
                "EMOTIONKIT_HUB_TIMEOUT), or pass a local folder"
            ) from None
    folder: Path | None = None
    pending = [CONFIG_NAME]
    while pending:
        filename = pending.pop(0)
        try:
            path = hf_hub_download(
                repo_id,
                filename,
                revision=revision,
                cache_dir=cache_dir,
                local_files_only=local_files_only,
                token=token,
                etag_timeout=timeout,
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
                f"an emotionkit model repo holds {CONFIG_NAME} and a model file ({WEIGHTS_NAME}, or an export)"
            ) from None
        except RepositoryNotFoundError:
            raise ModelNotFoundError(
                f"Hub repo {repo_id!r} not found (or private: pass token=); accepted: {_accepted()}"
            ) from None
        except RevisionNotFoundError:
            raise ModelNotFoundError(f"Hub repo {repo_id!r} has no revision {revision!r}") from None
        except HfHubHTTPError as exc:
            raise ModelNotFoundError(f"downloading {filename} of Hub repo {repo_id!r} failed: {exc}") from None
        if filename == CONFIG_NAME:
            pending = [*_listed_model_files(Path(path)), CARD_NAME]
        folder = Path(path).parent
    assert folder is not None
    return folder
