"""Parking an unfinished run in a small folder and resuming it elsewhere (emotionkit.train.checkpoint, the CLI)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import TINY_ARCH
from emotionkit.train.checkpoint import PARKED_NAME, park_run, resume_run


def _datasets(path: Path) -> dict[str, np.ndarray]:
    import h5py

    found: dict[str, np.ndarray] = {}
    with h5py.File(path, "r") as h5:
        h5.visititems(lambda name, item: found.update({name: item[()]}) if isinstance(item, h5py.Dataset) else None)
    return found


def _rows(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "history.jsonl").read_text().splitlines() if line.strip()]


def _history(run: Path) -> list[tuple[str, int]]:
    return [(row["stage"], row["epoch"]) for row in _rows(run)]


def _train(fer_folder: Path, recipe: Path, run: Path, out: Path, *extra: str) -> int:
    from emotionkit.train.cli import main as train_main

    args = ["--recipe", str(recipe), "--data", str(fer_folder), "--run-dir", str(run), "--output", str(out)]
    return train_main([*args, "--verbose", "0", *extra])


def test_a_parked_run_resumes_in_a_new_folder_where_it_stopped(fer_folder: Path, tmp_path: Path, capsys) -> None:
    from emotionkit.train.cli import main as train_main

    recipe = tmp_path / "recipe.json"
    recipe.write_text(
        json.dumps({"architecture": TINY_ARCH, "head_epochs": 0, "batch_size": 14, "average_last_epochs": 3})
    )
    first = tmp_path / "first"
    assert _train(fer_folder, recipe, first, tmp_path / "m1", "--epochs", "2") == 0  # "the session ends"
    everything = park_run(first, tmp_path / "roomy", max_bytes=50 * 2**20)
    assert {"recipe.json", "history.jsonl", "commit.txt", "best.weights.h5"} <= set(everything.kept)
    assert any(name.startswith("backup_finetune/") for name in everything.kept) and everything.left_out == ()
    assert everything.epochs_done == 2

    required = sum((first / n).stat().st_size for n in everything.kept if n != "best.weights.h5" and "epochs/" not in n)
    capsys.readouterr()
    parked = tmp_path / "training" / "checkpoints" / "tiny"
    argv = ["park", str(first), str(parked), "--max-mb", str((required + 10) / 1e6)]
    assert train_main(argv) == 0
    assert "parked 2 epochs" in capsys.readouterr().out
    record = json.loads((parked / PARKED_NAME).read_text())
    assert "best.weights.h5" in record["left_out"] and record["size_bytes"] <= required + 10
    assert sorted(p.name for p in parked.iterdir() if p.is_file()) == sorted(
        [PARKED_NAME, "commit.txt", "history.jsonl", "recipe.json"]
    )
    assert train_main(argv) == 2 and "exists" in capsys.readouterr().err  # no silent replacement
    assert train_main([*argv, "--overwrite"]) == 0

    second = tmp_path / "second"  # "the next session": a fresh machine, the parked folder from the repository
    assert _train(fer_folder, recipe, second, tmp_path / "m2", "--epochs", "4", "--resume-from", str(parked)) == 0
    assert _history(second) == [("finetune", e) for e in range(4)]
    assert (second / "commit.txt").read_text() == (first / "commit.txt").read_text()
    config = json.loads((tmp_path / "m2" / "config.json").read_text())
    assert config["training"]["selected"] in {"average", "best_epoch", "last_epoch"}
    # a recipe that does not load is refused before anything is copied into the run folder
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"architecture": TINY_ARCH, "mixing": {"mixup": -1}}))
    assert _train(fer_folder, bad, tmp_path / "third", tmp_path / "m4", "--resume-from", str(parked)) == 2
    assert not (tmp_path / "third").exists()
    # the new folder now holds a run: resuming into it again is refused with a one-line error
    assert _train(fer_folder, recipe, second, tmp_path / "m3", "--resume-from", str(parked)) == 2
    assert "already holds a run" in capsys.readouterr().err


def test_stage_one_is_not_repeated_when_only_the_stage_two_backup_was_parked(fer_folder: Path, tmp_path: Path) -> None:
    arch = {"name": "mobilenet", "input_size": 48, "backbone_size": 32, "alpha": 0.25}  # the shortest backbone
    recipe = tmp_path / "recipe.json"
    recipe.write_text(json.dumps({"architecture": arch, "head_epochs": 1, "batch_size": 14}))
    first = tmp_path / "first"
    assert _train(fer_folder, recipe, first, tmp_path / "m1", "--epochs", "1") == 0
    parked = park_run(first, tmp_path / "parked", max_bytes=50 * 2**20)
    assert "head.weights.h5" not in parked.kept  # stage 2 had started: its backup holds the whole model
    second = tmp_path / "second"
    assert (
        _train(fer_folder, recipe, second, tmp_path / "m2", "--epochs", "2", "--resume-from", str(parked.folder)) == 0
    )
    assert _history(second) == [("head", 0), ("finetune", 0), ("finetune", 1)]


def test_a_time_budget_pauses_at_an_epoch_end_and_parks_the_run_for_the_next_session(
    fer_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    recipe = tmp_path / "recipe.json"
    recipe.write_text(
        json.dumps(
            {
                "architecture": TINY_ARCH,
                "head_epochs": 0,
                "batch_size": 14,
                "epochs": 3,
                "seed": 5,
                "augmentation": {"erasing": 0.5},
            }
        )
    )
    parked = tmp_path / "training" / "checkpoints" / "tiny"
    parked.mkdir(parents=True)  # an earlier parking of the same run: replaced
    first, model = tmp_path / "first", tmp_path / "m1"
    assert _train(fer_folder, recipe, first, model, "--stop-after", "0", "--park-to", str(parked)) == 3
    out = capsys.readouterr().out
    assert "paused after 1 of 3 epochs" in out and f"go on with --resume-from {parked}" in out
    assert not model.exists()  # no model folder for an unfinished run
    assert json.loads((parked / PARKED_NAME).read_text())["epochs_done"] == 1 and _history(first) == [("finetune", 0)]
    second = tmp_path / "second"  # the next session goes on from the parked epoch
    assert _train(fer_folder, recipe, second, tmp_path / "m2", "--resume-from", str(parked)) == 0
    assert _history(second) == [("finetune", e) for e in range(3)] and (tmp_path / "m2" / "config.json").is_file()
    # the resumed epochs draw their shuffles and erasing from a seed moved by the epoch already trained, instead
    # of replaying the draws of the run's first epoch
    assert [row["draw_seed"] for row in _rows(second)] == [5, 6, 6]
    # a budget that ends at the last epoch is a finished run, and a generous one changes nothing
    last = tmp_path / "last.json"
    last.write_text(json.dumps({"architecture": TINY_ARCH, "head_epochs": 0, "batch_size": 14, "epochs": 1}))
    assert _train(fer_folder, last, tmp_path / "r3", tmp_path / "m3", "--stop-after", "0") == 0
    assert _train(fer_folder, recipe, tmp_path / "r4", tmp_path / "m4", "--stop-after", "600") == 0
    assert _history(tmp_path / "r4") == [("finetune", e) for e in range(3)]
    # usage errors
    for extra, message in [
        (["--park-to", str(parked)], "--park-to parks a run that --stop-after paused: give both"),
        (["--stop-after", "-1"], "--stop-after takes minutes >= 0, got -1.0"),
    ]:
        with pytest.raises(SystemExit):
            _train(fer_folder, recipe, tmp_path / "r5", tmp_path / "m5", *extra)
        assert message in capsys.readouterr().err
    import emotionkit.train.checkpoint as checkpoint

    def too_big(*args: object, **kwargs: object) -> None:
        raise ValueError("the files a resume needs take 99.0 MB, over the 10.0 MB limit")

    monkeypatch.setattr(checkpoint, "park_run", too_big)  # a run too big to park: a usage error, the run kept
    assert _train(fer_folder, recipe, tmp_path / "r7", tmp_path / "m7", "--stop-after", "0", "--park-to", "p") == 2
    assert "error: the files a resume needs take 99.0 MB" in capsys.readouterr().err
    assert _history(tmp_path / "r7") == [("finetune", 0)]
    monkeypatch.undo()
    pair = tmp_path / "pair.json"
    pair.write_text(json.dumps({"architecture": TINY_ARCH, "ensemble": [{"seed": 1}, {"seed": 2}]}))
    assert _train(fer_folder, pair, tmp_path / "r8", tmp_path / "m8", "--stop-after", "5") == 2
    assert "--stop-after pauses one network's training; this recipe trains an ensemble" in capsys.readouterr().err
    assert not (tmp_path / "r8").exists()  # refused with the recipe's other errors, before any data is read
    from emotionkit.train.data import load_fer2013_folder
    from emotionkit.train.trainer import TrainConfig, train

    config = TrainConfig.from_file(recipe)
    data = load_fer2013_folder(fer_folder, "Training")
    with pytest.raises(ValueError, match="time_budget_s must be >= 0 seconds or None, got -5"):
        train(config, data, data, tmp_path / "r6", verbose=0, time_budget_s=-5)


def test_refusals_say_what_is_wrong(fer_folder: Path, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="not a training run folder: it has no recipe.json, history.jsonl"):
        park_run(tmp_path, tmp_path / "out")
    recipe = tmp_path / "recipe.json"
    recipe.write_text(json.dumps({"architecture": TINY_ARCH, "head_epochs": 0, "batch_size": 14}))
    run = tmp_path / "run"
    assert _train(fer_folder, recipe, run, tmp_path / "m", "--epochs", "1") == 0
    with pytest.raises(ValueError, match="over the 0.0 MB limit .* too big to park"):
        park_run(run, tmp_path / "out", max_bytes=1000)
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".out-*"))
    with pytest.raises(FileNotFoundError, match="is not a parked run"):
        resume_run(run, tmp_path / "elsewhere")


def test_a_compact_optimizer_state_parks_smaller_and_resumes_close_to_exact(
    fer_folder: Path, tmp_path: Path, capsys
) -> None:
    from emotionkit.train.cli import main as train_main

    recipe = tmp_path / "recipe.json"
    recipe.write_text(json.dumps({"architecture": TINY_ARCH, "head_epochs": 0, "batch_size": 14}))
    first = tmp_path / "first"
    assert _train(fer_folder, recipe, first, tmp_path / "m1", "--epochs", "2") == 0
    before = {p: p.read_bytes() for p in first.rglob("*") if p.is_file()}
    exact = park_run(first, tmp_path / "exact", max_bytes=50 * 2**20, optimizer_state="exact")
    backup = next(name for name in exact.kept if name.startswith("backup_finetune/") and name.endswith(".h5"))
    argv = ["park", str(first), str(tmp_path / "compact"), "--max-mb", "50", "--optimizer-state", "compact"]
    assert train_main(argv) == 0 and "compact optimizer state" in capsys.readouterr().out
    compact = park_run(first, tmp_path / "compact", max_bytes=50 * 2**20, optimizer_state="compact", overwrite=True)
    assert (exact.optimizer_state, compact.optimizer_state) == ("exact", "compact")
    assert compact.size_bytes < exact.size_bytes
    record = json.loads((tmp_path / "compact" / PARKED_NAME).read_text())
    assert record["optimizer_state"] == "compact" and record["compact_files"] == [backup]
    assert "best.weights.h5" in record["kept"]  # stored and later restored byte for byte, not rewritten
    # "auto" keeps the state exact while it fits, and goes compact when only that fits
    required = exact.size_bytes - sum((first / n).stat().st_size for n in exact.kept if n == "best.weights.h5")
    assert park_run(first, tmp_path / "a1", max_bytes=required).optimizer_state == "exact"
    assert park_run(first, tmp_path / "a2", max_bytes=required - 1).optimizer_state == "compact"
    with pytest.raises(ValueError, match="with its exact optimizer state.* too big to park"):
        park_run(first, tmp_path / "a3", max_bytes=required - 1, optimizer_state="exact")
    with pytest.raises(ValueError, match="optimizer_state must be one of auto, exact, compact, got 'half'"):
        park_run(first, tmp_path / "a4", optimizer_state="half")

    original = _datasets(first / backup)
    stored = _datasets(tmp_path / "compact" / backup)
    resumed = resume_run(tmp_path / "compact", tmp_path / "second")
    restored = _datasets(resumed / backup)
    assert (resumed / "best.weights.h5").read_bytes() == (first / "best.weights.h5").read_bytes()
    assert set(original) == set(stored) == set(restored)
    moments = [name for name in original if name.startswith("optimizer/") and original[name].dtype == np.float32]
    assert moments and all(stored[name].dtype == np.float16 for name in moments)
    for name, values in original.items():
        assert restored[name].dtype == values.dtype, name
        if name in moments:  # float16 signed square roots: about 1e-3 relative error once squared back
            np.testing.assert_allclose(restored[name], values, rtol=2e-3, atol=1e-12, err_msg=name)
        else:  # the weights, BatchNorm statistics and the step counter are kept exactly
            np.testing.assert_array_equal(restored[name], values, err_msg=name)
    assert {p: p.read_bytes() for p in first.rglob("*") if p.is_file()} == before  # the run folder is untouched
    out = tmp_path / "m2"
    assert _train(fer_folder, recipe, tmp_path / "second", out, "--epochs", "3") == 0
    assert _history(tmp_path / "second") == [("finetune", e) for e in range(3)]
