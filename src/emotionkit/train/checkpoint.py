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

__all__ = ["PARK_LIMIT_BYTES", "PARKED_NAME", "ParkedRun", "park_run", "resume_run"]

PARK_LIMIT_BYTES = 10_000_000
"""Default size limit of a parked run (10 MB: what the repository accepts under ``training/``)."""
PARKED_NAME = "PARKED.json"
"""The file in a parked folder that lists what was kept and what was left out."""

_BACKUPS = ("backup_finetune", "backup_head")  # newest stage first


@dataclass(frozen=True)
class ParkedRun:
    """What [`park_run`][emotionkit.train.checkpoint.park_run] wrote.

    Attributes:
        folder: The parked folder.
        kept: Files copied, relative to the run folder.
        left_out: Optional files that did not fit under the limit.
        size_bytes: Total size of the kept files.
        epochs_done: Training epochs recorded in the history (both stages).
    """

    folder: Path
    kept: tuple[str, ...]
    left_out: tuple[str, ...]
    size_bytes: int
    epochs_done: int


def _relative_files(run_dir: Path, sub: str) -> list[str]:
    folder = run_dir / sub
    return (
        sorted(p.relative_to(run_dir).as_posix() for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []
    )


def park_run(
    run_dir: str | Path, dest: str | Path, max_bytes: int = PARK_LIMIT_BYTES, overwrite: bool = False
) -> ParkedRun:
    """Copy what resuming a run needs (and what else fits) into ``dest``.

    Required: ``recipe.json``, ``history.jsonl``, ``commit.txt`` (when present) and the
    newest stage's Keras backup; with a frozen-backbone stage 1 finished and stage 2
    not started, ``head.weights.h5`` instead. Optional, while the total stays under
    ``max_bytes``: ``best.weights.h5``, then the weight-averaging snapshots, newest first.
    The folder is assembled beside ``dest`` and renamed into place.

    Args:
        run_dir: The run folder (``--run-dir``).
        dest: The parked folder to write.
        max_bytes: Size limit of the parked folder.
        overwrite: Replace an existing ``dest`` (an earlier parking of the same run).

    Returns:
        What was kept and left out.

    Raises:
        FileNotFoundError: If ``run_dir`` holds no run (no recipe or history).
        FileExistsError: If ``dest`` exists and ``overwrite`` is false.
        ValueError: If the required files alone exceed ``max_bytes``.

    Examples:
        >>> parked = park_run("runs/student", "training/checkpoints/student")  # doctest: +SKIP
        >>> parked.left_out  # doctest: +SKIP
        ('best.weights.h5',)
    """
    run_dir, dest = Path(run_dir), Path(dest)
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

    def size(name: str) -> int:
        return (run_dir / name).stat().st_size

    total = sum(size(name) for name in required)
    if total > max_bytes:
        raise ValueError(
            f"the files a resume needs take {total / 1e6:.1f} MB, over the {max_bytes / 1e6:.1f} MB limit "
            f"({', '.join(required)}): this network (with its optimizer state) is too big to park"
        )
    kept, left_out = list(required), []
    for name in optional:
        if total + size(name) <= max_bytes:
            kept.append(name)
            total += size(name)
        else:
            left_out.append(name)
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=dest.parent))
    try:
        for name in kept:
            (staging / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(run_dir / name, staging / name)
        record = {"kept": kept, "left_out": left_out, "size_bytes": total, "epochs_done": len(history)}
        (staging / PARKED_NAME).write_text(json.dumps(record, indent=2) + "\n")
        if dest.exists():
            shutil.rmtree(dest)
        staging.rename(dest)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return ParkedRun(dest, tuple(kept), tuple(left_out), total, len(history))


def resume_run(parked: str | Path, run_dir: str | Path) -> Path:
    """Copy a parked run into a run folder that has not started, so that training it resumes.

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
    kept = json.loads((parked / PARKED_NAME).read_text())["kept"]
    for name in kept:
        (run_dir / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(parked / name, run_dir / name)
    return run_dir
