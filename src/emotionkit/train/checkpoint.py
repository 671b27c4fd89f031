"""Carry an unfinished training run from one session (or machine) to the next in a small, committable folder.

A run folder (``--run-dir``) holds more than a resume needs: the best epoch's
weights, the per-epoch snapshots kept for weight averaging, logs. [`park_run`][emotionkit.train.checkpoint.park_run]
copies what resuming needs (the recipe, the history, the commit the run started
from and the newest Keras backup: weights *and* optimizer state) into a folder
under a size limit (10 MB by default, what the repository accepts under
``training/``), then adds the optional files that still fit (the best epoch's
weights, the averaging snapshots, newest first). [`resume_run`][emotionkit.train.checkpoint.resume_run]
copies a parked folder into a fresh run folder; training that run folder with the
same recipe goes on from the parked epoch.

```bash
emotionkit-train park runs/student training/checkpoints/student        # end of a session: commit the folder
emotionkit-train --recipe R --run-dir runs/student --resume-from training/checkpoints/student --output M
```
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["OPTIMIZER_STATES", "PARK_LIMIT_BYTES", "PARKED_NAME", "ParkedRun", "park_run", "resume_run"]

PARK_LIMIT_BYTES = 10_000_000
"""Default size limit of a parked run (10 MB: what the repository accepts under ``training/``)."""
PARKED_NAME = "PARKED.json"
"""The file in a parked folder that lists what was kept and what was left out."""

OPTIMIZER_STATES = ("auto", "exact", "compact")
"""How [`park_run`][emotionkit.train.checkpoint.park_run] keeps the optimizer state: ``"exact"`` (as
trained), ``"compact"`` (float16 signed square roots) or ``"auto"`` (exact when the run fits, else compact)."""

_BACKUPS = ("backup_finetune", "backup_head")  # newest stage first
_OPTIMIZER_GROUP = "optimizer"  # where a Keras weights file keeps the optimizer's variables
_ENCODING_ATTR = "emotionkit_encoding"
_COMPACT = "float16 signed square root"


@dataclass(frozen=True)
class ParkedRun:
    """What [`park_run`][emotionkit.train.checkpoint.park_run] wrote.

    Attributes:
        folder: The parked folder.
        kept: Files copied, relative to the run folder.
        left_out: Optional files that did not fit under the limit.
        size_bytes: Total size of the kept files.
        epochs_done: Training epochs recorded in the history (both stages).
        optimizer_state: How the optimizer moments were kept, ``"exact"`` or ``"compact"``
            (see [`OPTIMIZER_STATES`][emotionkit.train.checkpoint.OPTIMIZER_STATES]).
    """

    folder: Path
    kept: tuple[str, ...]
    left_out: tuple[str, ...]
    size_bytes: int
    epochs_done: int
    optimizer_state: str = "exact"


def _relative_files(run_dir: Path, sub: str) -> list[str]:
    folder = run_dir / sub
    return (
        sorted(p.relative_to(run_dir).as_posix() for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []
    )


def _rewrite_weights_file(src: Path, dst: Path, encode: bool) -> None:
    """Copy a Keras ``.weights.h5`` file, encoding (or decoding) its optimizer variables; the rest is copied as is."""
    import h5py

    with h5py.File(src, "r") as source, h5py.File(dst, "w") as target:
        target.attrs.update(dict(source.attrs))

        def copy(name: str, item: object) -> None:
            if isinstance(item, h5py.Group):
                target.require_group(name).attrs.update(dict(item.attrs))
                return
            assert isinstance(item, h5py.Dataset)
            values, attrs = item[()], dict(item.attrs)
            floating = np.issubdtype(item.dtype, np.floating)
            if encode and floating and name.split("/")[0] == _OPTIMIZER_GROUP and item.dtype != np.float16:
                values = (np.sign(values) * np.sqrt(np.abs(values))).astype(np.float16)
                attrs[_ENCODING_ATTR] = f"{_COMPACT} of {item.dtype}"
            elif not encode and str(attrs.get(_ENCODING_ATTR, "")).startswith(_COMPACT):
                wide = values.astype(np.float64)
                values = (np.sign(wide) * wide * wide).astype(str(attrs.pop(_ENCODING_ATTR)).rsplit(" ", 1)[-1])
            target.create_dataset(name, data=values)
            target[name].attrs.update(attrs)

        source.visititems(copy)


def _copy_into(source: Path, target: Path, encode: bool | None) -> None:
    """Copy one file; Keras weights files are rewritten when ``encode`` is true (compact) or false (expand)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if encode is None or not source.name.endswith(".weights.h5"):
        shutil.copy2(source, target)
    else:
        _rewrite_weights_file(source, target, encode)


def park_run(
    run_dir: str | Path,
    dest: str | Path,
    max_bytes: int = PARK_LIMIT_BYTES,
    overwrite: bool = False,
    optimizer_state: str = "auto",
) -> ParkedRun:
    """Copy what resuming a run needs (and what else fits) into ``dest``.

    Required: ``recipe.json``, ``history.jsonl``, ``commit.txt`` (when present) and the
    newest stage's Keras backup; with a frozen-backbone stage 1 finished and stage 2
    not started, ``head.weights.h5`` instead. Optional, while the total stays under
    ``max_bytes``: ``best.weights.h5``, then the weight-averaging snapshots, newest first.
    The folder is assembled beside ``dest`` and renamed into place.

    With ``optimizer_state="compact"`` (or ``"auto"`` when the required files do not fit
    as they are) the backup's optimizer moments are stored as float16 signed square
    roots (see the module description); the weights are kept exactly.

    Args:
        run_dir: The run folder (``--run-dir``).
        dest: The parked folder to write.
        max_bytes: Size limit of the parked folder.
        overwrite: Replace an existing ``dest`` (an earlier parking of the same run).
        optimizer_state: One of [`OPTIMIZER_STATES`][emotionkit.train.checkpoint.OPTIMIZER_STATES].

    Returns:
        What was kept and left out.

    Raises:
        FileNotFoundError: If ``run_dir`` holds no run (no recipe or history).
        FileExistsError: If ``dest`` exists and ``overwrite`` is false.
        ValueError: If ``optimizer_state`` is unknown or the required files alone (compact,
            unless ``"exact"`` was asked for) exceed ``max_bytes``.

    Examples:
        >>> parked = park_run("runs/student", "training/checkpoints/student")  # doctest: +SKIP
        >>> parked.left_out  # doctest: +SKIP
        ('best.weights.h5',)
    """
    run_dir, dest = Path(run_dir), Path(dest)
    if optimizer_state not in OPTIMIZER_STATES:
        raise ValueError(f"optimizer_state must be one of {', '.join(OPTIMIZER_STATES)}, got {optimizer_state!r}")
    missing = [name for name in ("recipe.json", "history.jsonl") if not (run_dir / name).is_file()]
    if missing:
        raise FileNotFoundError(f"{run_dir} is not a training run folder: it has no {', '.join(missing)}")
    if dest.exists() and not overwrite:
        raise FileExistsError(f"{dest} exists; pass overwrite=True (--overwrite) to replace it")
    history = [json.loads(line) for line in (run_dir / "history.jsonl").read_text().splitlines() if line.strip()]
    required = ["recipe.json", "history.jsonl"] + (["commit.txt"] if (run_dir / "commit.txt").is_file() else [])
    backup = next((files for sub in _BACKUPS if (files := _relative_files(run_dir, sub))), [])
    if backup and backup[0].startswith("backup_head") and (run_dir / "head.weights.h5").is_file():
        backup = ["head.weights.h5"]  # stage 1 finished: its weights are all stage 2 needs
    required += backup
    optional = (["best.weights.h5"] if (run_dir / "best.weights.h5").is_file() else []) + sorted(
        _relative_files(run_dir, "epochs"), reverse=True
    )
    exact_size = sum((run_dir / name).stat().st_size for name in required)
    compact = optimizer_state == "compact" or (optimizer_state == "auto" and exact_size > max_bytes)
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=dest.parent))
    try:
        for name in required:
            _copy_into(run_dir / name, staging / name, encode=True if compact and name in backup else None)
        total = sum((staging / name).stat().st_size for name in required)
        if total > max_bytes:
            how = "with its optimizer state stored compact" if compact else "with its exact optimizer state"
            raise ValueError(
                f"the files a resume needs take {total / 1e6:.1f} MB, over the {max_bytes / 1e6:.1f} MB limit "
                f"({', '.join(required)}): this network ({how}) is too big to park"
            )
        kept, left_out = list(required), []
        for name in optional:
            size = (run_dir / name).stat().st_size
            if total + size <= max_bytes:
                _copy_into(run_dir / name, staging / name, encode=None)
                kept.append(name)
                total += size
            else:
                left_out.append(name)
        state = "compact" if compact else "exact"
        record = {
            "kept": kept,
            "left_out": left_out,
            "size_bytes": total,
            "epochs_done": len(history),
            "optimizer_state": state,
            "compact_files": [name for name in backup if name.endswith(".weights.h5")] if compact else [],
        }
        (staging / PARKED_NAME).write_text(json.dumps(record, indent=2) + "\n")
        if dest.exists():
            shutil.rmtree(dest)
        staging.rename(dest)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return ParkedRun(dest, tuple(kept), tuple(left_out), total, len(history), state)


def resume_run(parked: str | Path, run_dir: str | Path) -> Path:
    """Copy a parked run into a run folder that has not started, so that training it resumes.

    A compact optimizer state is expanded back to the dtype it was trained in.

    Args:
        parked: A folder written by [`park_run`][emotionkit.train.checkpoint.park_run].
        run_dir: The run folder to train in; created if needed.

    Returns:
        ``run_dir``.

    Raises:
        FileNotFoundError: If ``parked`` is not a parked run.
        FileExistsError: If ``run_dir`` already holds a run history (resume that folder instead).

    Examples:
        >>> resume_run("training/checkpoints/student", "runs/student")  # doctest: +SKIP
    """
    parked, run_dir = Path(parked), Path(run_dir)
    if not (parked / PARKED_NAME).is_file():
        raise FileNotFoundError(f"{parked} is not a parked run (no {PARKED_NAME}); write one with park_run")
    if (run_dir / "history.jsonl").is_file():
        raise FileExistsError(f"{run_dir} already holds a run; train it without --resume-from to go on with it")
    record = json.loads((parked / PARKED_NAME).read_text())
    compact_files = set(record.get("compact_files", ()))
    if record.get("optimizer_state") == "compact" and "compact_files" not in record:
        compact_files = set(record["kept"])  # parked before the list was recorded: decode every weights file
    for name in record["kept"]:
        _copy_into(parked / name, run_dir / name, encode=False if name in compact_files else None)
    return run_dir
