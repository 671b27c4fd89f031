"""The teacher bank: member files, greedy selection on PublicTest, distillation from the bank, the CLI verbs."""

from __future__ import annotations

import csv
import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from conftest import TINY_ARCH
from emotionkit.labels import EMOTIONS
from emotionkit.train.bank import (
    BankMember,
    Fer2013Index,
    calibrate_members,
    load_bank,
    member_probabilities,
    select_ensemble,
    student_fit,
    teacher_targets,
    write_member,
)
from emotionkit.train.cli import main as train_main

REPO = Path(__file__).parents[1]


def test_index_is_sorted_by_relative_path_across_splits(fer_folder: Path) -> None:
    index = Fer2013Index.load(fer_folder)
    assert index.data.paths == sorted(index.data.paths)
    assert len(index.data) == 7 * (6 + 2 + 2)
    assert index.mask("PublicTest").sum() == 14 and index.mask("Training").sum() == 42
    first = index.data.paths[0]
    assert first.startswith("test/angry/PrivateTest_") and index.splits[0] == "PrivateTest"
    assert EMOTIONS[index.data.labels[0]] == "angry"
    with pytest.raises(ValueError, match="unknown split"):
        index.mask("Validation")


def _index(n_per_split: int = 30, seed: int = 0) -> Fer2013Index:
    from emotionkit.train.data import FaceDataset

    rng = np.random.default_rng(seed)
    n = 3 * n_per_split
    labels = rng.integers(0, 7, n)
    splits = np.repeat(np.array(["Training", "PublicTest", "PrivateTest"]), n_per_split)
    data = FaceDataset(np.zeros((n, 48, 48), np.uint8), labels, EMOTIONS, [f"p{i:04d}" for i in range(n)])
    return Fer2013Index(data, splits)


def _member(index: Fer2013Index, correct: np.ndarray, name: str) -> BankMember:
    """Probabilities that put 0.6 on the true label where ``correct``, else on the next label."""
    labels = index.data.labels
    guess = np.where(correct, labels, (labels + 1) % 7)
    probs = np.full((len(labels), 7), 0.4 / 6, np.float32)
    probs[np.arange(len(labels)), guess] = 0.6
    return BankMember(name, probs)


def test_write_and_load_round_trip(tmp_path: Path) -> None:
    index = _index()
    member = _member(index, np.arange(90) % 2 == 0, "a")
    path = write_member(tmp_path, "a", member.probabilities, index, {"seed": 3})
    assert path.stat().st_size < 90 * 7 * 2 + 200  # float16
    loaded = load_bank(tmp_path, index)
    assert [m.name for m in loaded] == ["a"]
    np.testing.assert_allclose(loaded[0].probabilities, member.probabilities, atol=1e-3)
    meta = loaded[0].meta
    public = index.mask("PublicTest")
    assert meta["seed"] == 3 and meta["images"] == 90 and meta["order_sha256"] == index.order_sha256()
    assert meta["public_test_accuracy"] == pytest.approx(np.mean(np.arange(90)[public] % 2 == 0), abs=1e-4)


def test_bank_files_are_checked(tmp_path: Path) -> None:
    index = _index()
    probs = _member(index, np.ones(90, bool), "a").probabilities
    with pytest.raises(ValueError, match="member name"):
        write_member(tmp_path, "Bad Name", probs, index, {})
    with pytest.raises(ValueError, match="shape"):
        write_member(tmp_path, "a", probs[:5], index, {})
    with pytest.raises(ValueError, match="probability distribution"):
        write_member(tmp_path, "a", probs * 2, index, {})
    with pytest.raises(ValueError, match="sidecar must hold finite numbers"):
        write_member(tmp_path, "a", probs, index, {"best_val_accuracy": float("nan")})
    assert not list(tmp_path.iterdir())  # refused before anything was written
    write_member(tmp_path, "a", probs, index, {})
    with pytest.raises(ValueError, match="another image order"):
        load_bank(tmp_path, Fer2013Index(index.data.subset(np.arange(89, -1, -1)), index.splits))
    (tmp_path / "a.json").unlink()
    with pytest.raises(ValueError, match="no sidecar"):
        load_bank(tmp_path)
    with pytest.raises(FileNotFoundError, match="bank folder not found"):
        load_bank(tmp_path / "nope")


@pytest.mark.parametrize("criterion", ["log_loss", "accuracy"])
def test_greedy_selection_uses_public_test_only_and_stops_when_nothing_helps(criterion: str) -> None:
    index = _index()
    public = index.mask("PublicTest")
    truth = index.data.labels[public]
    rng = np.random.default_rng(5)
    good = _member(index, rng.random(90) < 0.8, "good")
    other = _member(index, rng.random(90) < 0.7, "other")
    # "cheat" is perfect on PrivateTest and useless on PublicTest: it must never be chosen
    cheat = _member(index, ~public, "cheat")
    selection = select_ensemble([cheat, other, good], index, criterion=criterion)
    assert selection.members[0] == "good" and "cheat" not in selection.members
    assert selection.steps[0] == ("good", pytest.approx(np.mean(good.probabilities[public].argmax(1) == truth)))
    by_name = {m.name: m.probabilities[public].astype(np.float64) for m in (cheat, other, good)}

    def loss(names: tuple[str, ...]) -> float:
        mean = sum(by_name[n] for n in names) / len(names)
        return float(-np.mean(np.log(mean[np.arange(len(truth)), truth])))

    prefixes = [selection.members[: i + 1] for i in range(len(selection.members))]
    if criterion == "accuracy":
        assert selection.public_accuracy >= selection.steps[0][1]
    else:  # every step lowers the PublicTest log-loss
        assert all(loss(a) > loss(b) for a, b in itertools.pairwise(prefixes))
    assert selection.public_accuracy == selection.steps[-1][1]
    with pytest.raises(ValueError, match="empty"):
        select_ensemble([], index)
    with pytest.raises(ValueError, match="unknown selection criterion 'auc'"):
        select_ensemble([good], index, criterion="auc")


def test_members_that_trained_on_public_test_are_never_selected(tmp_path: Path) -> None:
    index = _index()
    good = _member(index, np.random.default_rng(1).random(90) < 0.7, "good")
    # a final fit saw PublicTest's labels: perfect there, so selection would take it first if it could
    final = _member(index, np.ones(90, bool), "final")
    write_member(tmp_path, "final", final.probabilities, index, {"trained_on": ["Training", "PublicTest"]})
    write_member(tmp_path, "good", good.probabilities, index, {})
    loaded = {m.name: m for m in load_bank(tmp_path, index)}
    assert loaded["final"].trained_on_public_test and not loaded["good"].trained_on_public_test
    assert loaded["final"].meta["public_test_accuracy"] is None and loaded["good"].meta["public_test_accuracy"] > 0
    assert select_ensemble(list(loaded.values()), index).members == ("good",)
    with pytest.raises(ValueError, match="only members that trained on PublicTest"):
        select_ensemble([loaded["final"]], index)


def test_teacher_targets_average_and_weigh_repeats() -> None:
    a = BankMember("a", np.array([[1.0, 0.0], [0.0, 1.0]], np.float32))
    b = BankMember("b", np.array([[0.0, 1.0], [0.0, 1.0]], np.float32))
    np.testing.assert_allclose(teacher_targets([a, b], ["a", "b"], np.array([0, 1])), [[0.5, 0.5], [0, 1]])
    np.testing.assert_allclose(teacher_targets([a, b], ["a", "a", "b"], np.array([0])), [[2 / 3, 1 / 3]])
    with pytest.raises(ValueError, match="unknown or no bank member"):
        teacher_targets([a], ["c"], np.array([0]))


def test_student_fit_compares_a_student_with_the_teachers_its_recipe_named() -> None:
    index = _index(n_per_split=40)
    n = len(index.data)
    rng = np.random.default_rng(3)
    a, b = _member(index, rng.random(n) < 0.9, "a"), _member(index, rng.random(n) < 0.5, "b")
    student_right = rng.random(n) < 0.7
    recipe = {"bank_teachers": ["a", "a", "b"], "calibrate_teachers": False}
    student = BankMember("s", _member(index, student_right, "s").probabilities, {"recipe": recipe})
    fit = student_fit([a, b, student], index, "s")
    train = index.mask("Training")
    labels = index.data.labels[train]
    mean = teacher_targets([a, b], ["a", "a", "b"], train).argmax(1)
    assert (fit.split, fit.images, fit.teachers, fit.calibrated_teachers) == ("Training", 40, ("a", "a", "b"), False)
    assert fit.student_accuracy == pytest.approx(np.mean(student_right[train]))
    assert fit.teachers_accuracy == pytest.approx(np.mean(mean == labels))
    assert fit.agreement == pytest.approx(np.mean(student.probabilities[train].argmax(1) == mean))
    assert student_fit([a, b, student], index, "s", "PublicTest").images == 40
    with pytest.raises(ValueError, match="reported split"):
        student_fit([a, b, student], index, "s", "PrivateTest")
    with pytest.raises(ValueError, match="not distilled from the bank"):
        student_fit([a, b, student], index, "a")
    with pytest.raises(ValueError, match="no bank member 'x'"):
        student_fit([a, b, student], index, "x")


def test_calibrated_members_undo_a_shifted_prior_fitted_on_public_test_only() -> None:
    index = _index(n_per_split=200, seed=3)
    labels = index.data.labels
    # a member that knows the labels but whose prior for class 2 is far too low
    # on PublicTest and Training only; PrivateTest rows carry no signal at all
    logits = np.where(np.arange(7) == labels[:, None], 2.0, 0.0)
    logits[:, 2] -= 3.0
    logits[index.mask("PrivateTest")] = 0.0
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    member = BankMember("shy", probs.astype(np.float32), {"seed": 1})
    before = member.probabilities.copy()
    public = index.mask("PublicTest")
    [calibrated] = calibrate_members([member], index)
    np.testing.assert_array_equal(member.probabilities, before)  # the input is not modified
    assert member.meta == {"seed": 1}
    assert calibrated.name == "shy" and calibrated.meta["calibrated_on"] == "PublicTest"
    bias = np.array(calibrated.meta["class_bias"])
    assert bias[2] - np.delete(bias, 2).max() > 1.0  # class 2 is lifted
    assert np.mean(calibrated.probabilities[public].argmax(1) == labels[public]) == 1.0
    assert np.mean(member.probabilities[public].argmax(1) == labels[public]) < 1.0
    np.testing.assert_allclose(calibrated.probabilities.sum(1), 1.0, atol=1e-6)
    shifted = probs * np.exp(bias)
    np.testing.assert_allclose(calibrated.probabilities, shifted / shifted.sum(1, keepdims=True), atol=1e-6)
    with pytest.raises(ValueError, match="PrivateTest is the reported split"):
        calibrate_members([member], index, split="PrivateTest")


def test_member_probabilities_are_the_flip_averaged_classify_step(tiny_recognizer, fer_folder: Path) -> None:
    index = Fer2013Index.load(fer_folder)
    probs = member_probabilities(tiny_recognizer, index)
    images = np.asarray(index.data.images)
    mirrored = np.ascontiguousarray(images[:, :, ::-1])
    expected = (tiny_recognizer.classify(images) + tiny_recognizer.classify(mirrored)) / 2
    np.testing.assert_allclose(probs, expected, atol=1e-5)
    with pytest.raises(ValueError, match="predicts"):
        member_probabilities(tiny_recognizer.with_classes(["happy", "sad"]), index)


def _write_ferplus(root: Path) -> None:
    """A ferplus.csv whose votes all say 'happy' (so FER+-mixed targets differ visibly from the labels)."""
    columns = ["path", "neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear"]
    with (root / "ferplus.csv").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        for path in sorted(root.rglob("*.jpg")):
            writer.writerow([path.relative_to(root).as_posix(), 0, 10, 0, 0, 0, 0, 0])


def test_cli_trains_into_the_bank_selects_and_distils_from_it(fer_folder: Path, tmp_path: Path, capsys) -> None:
    _write_ferplus(fer_folder)
    bank = tmp_path / "bank"
    recipe = tmp_path / "member.json"
    base = {"architecture": TINY_ARCH, "epochs": 1, "head_epochs": 0, "batch_size": 14}
    recipe.write_text(json.dumps({**base, "ferplus_weight": 0.5}))
    common = ["--data", str(fer_folder), "--bank", str(bank), "--verbose", "0"]
    for seed in (1, 2):
        run = ["--run-dir", str(tmp_path / f"r{seed}"), "--output", str(tmp_path / f"m{seed}")]
        args = ["--recipe", str(recipe), "--seed", str(seed), "--bank-name", f"tiny-s{seed}"]
        assert train_main([*args, *run, *common]) == 0
    members = load_bank(bank)
    assert [m.name for m in members] == ["tiny-s1", "tiny-s2"]
    meta = members[0].meta
    assert meta["recipe"]["ferplus_weight"] == 0.5 and meta["seed"] == 1 and meta["epochs"] == 1
    assert meta["architecture"]["name"] == "convnet" and meta["wall_time_s"] >= 0 and meta["commit"]
    # the commit the run started from, kept in the run folder (a resumed run keeps its first one)
    assert meta["commit"] == (tmp_path / "r1" / "commit.txt").read_text().strip()

    capsys.readouterr()
    selection = tmp_path / "selection.json"
    assert (
        train_main(["bank", "select", "--bank", str(bank), "--data", str(fer_folder), "--output", str(selection)]) == 0
    )
    out = capsys.readouterr().out
    assert "greedy selection on PublicTest" in out and "never used to choose" in out
    table = [line for line in out.splitlines() if line.startswith("| ")]
    assert table[0].startswith("| member | architecture | PublicTest | PrivateTest | FER+ majority, PrivateTest (")
    assert [line.split(" | ")[0] for line in table[1:]] == ["| tiny-s1", "| tiny-s2", "| greedy selection"]
    assert all(cell.endswith("%") for line in table[1:] for cell in line.strip("| ").split(" | ")[2:])
    chosen = json.loads(selection.read_text())["members"]
    assert set(chosen) <= {"tiny-s1", "tiny-s2"}
    select = ["bank", "select", "--bank", str(bank), "--data", str(fer_folder), "--output", str(selection)]
    assert train_main([*select, "--calibrated"]) == 0
    assert "calibrated on PublicTest" in capsys.readouterr().out
    assert json.loads(selection.read_text())["calibrated_on"] == "PublicTest"
    assert train_main(["bank", "list", "--bank", str(bank)]) == 0
    assert "tiny-s2" in capsys.readouterr().out

    student = tmp_path / "student.json"
    student.write_text(json.dumps({**base, "bank_teachers": chosen, "distill_weight": 0.7, "calibrate_teachers": True}))
    run = ["--run-dir", str(tmp_path / "rs"), "--output", str(tmp_path / "student"), "--bank-name", "tiny-student"]
    assert train_main(["--recipe", str(student), *run, *common]) == 0
    assert "calibrated on PublicTest" in capsys.readouterr().out
    assert train_main(["bank", "fit", "--bank", str(bank), "--data", str(fer_folder)]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| tiny")]
    assert len(rows) == 1 and rows[0].startswith(f"| tiny-student | {len(chosen)}, calibrated | ")
    assert all(cell.endswith("%") for cell in rows[0].strip("| ").split(" | ")[2:])
    assert train_main(["bank", "fit", "tiny-s1", "--bank", str(bank), "--data", str(fer_folder)]) == 2
    assert "was not distilled from the bank" in capsys.readouterr().err
    config = json.loads((tmp_path / "student" / "config.json").read_text())
    assert config["training"]["recipe"]["bank_teachers"] == chosen
    assert config["training"]["recipe"]["calibrate_teachers"] is True

    # an ensemble folder's member can be added on its own; bad input is a usage error
    add = ["bank", "add", str(tmp_path / "m1"), "--name", "again", "--bank", str(bank), "--data", str(fer_folder)]
    assert train_main(add) == 0
    np.testing.assert_allclose(load_bank(bank)[0].probabilities, members[0].probabilities, atol=1e-3)
    assert train_main([*add[:-4], "--member", "1", *add[-4:]]) == 2
    assert "not an ensemble" in capsys.readouterr().err
    bad = json.loads(json.dumps({**base, "bank_teachers": ["nobody"]}))
    student.write_text(json.dumps(bad))
    assert (
        train_main(
            ["--recipe", str(student), "--run-dir", str(tmp_path / "x"), "--output", str(tmp_path / "y"), *common]
        )
        == 2
    )


def test_ferplus_majority_needs_more_than_half_of_all_votes(fer_folder: Path) -> None:
    from emotionkit.train.data import ferplus_majority

    index = Fer2013Index.load(fer_folder)
    paths = index.data.paths
    columns = ["path", "neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear"]
    columns += ["contempt", "unknown", "NF"]
    with (fer_folder / "ferplus.csv").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        writer.writerow([paths[0], 0, 6, 0, 0, 4, 0, 0, 0, 0, 0])  # 6 of 10 for happy: a majority
        writer.writerow([paths[1], 0, 5, 0, 0, 5, 0, 0, 0, 0, 0])  # 5 of 10: no majority
        writer.writerow([paths[2], 0, 0, 0, 0, 0, 0, 0, 0, 4, 6])  # not a face
        writer.writerow([paths[3], "", "", "", "", "", "", "", "", "", ""])  # no votes (unaligned)
    labels = ferplus_majority(index.data, fer_folder / "ferplus.csv")
    assert labels[0] == EMOTIONS.index("happy")
    assert (labels[1:] == -1).all()
    with pytest.raises(FileNotFoundError, match="FER\\+ votes file not found"):
        ferplus_majority(index.data, fer_folder / "missing.csv")


@pytest.mark.parametrize("recipe", sorted((REPO / "training" / "recipes").glob("*.json")), ids=lambda p: p.stem)
def test_committed_recipes_load_build_and_name_committed_members(recipe: Path) -> None:
    from emotionkit.models import build_model
    from emotionkit.train.trainer import TrainConfig

    config = TrainConfig.from_file(recipe)
    bank = REPO / "training" / "teachers"
    missing = [name for name in config.bank_teachers if not (bank / f"{name}.npy").is_file()]
    missing += [f"views/{name}" for name in config.view_teachers if not (bank / "views" / f"{name}.npy").is_file()]
    assert not missing, f"{recipe.name} names bank members that are not committed: {missing}"
    assert build_model(config.architecture, len(EMOTIONS)).output_shape == (None, len(EMOTIONS))


def test_cli_final_fit_trains_on_public_test_and_its_bank_entry_says_so(
    fer_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write_ferplus(fer_folder)
    bank = tmp_path / "bank"
    index = Fer2013Index.load(fer_folder)
    write_member(
        bank, "teacher", _member(index, np.arange(len(index.data)) % 3 > 0, "teacher").probabilities, index, {}
    )
    recipe = tmp_path / "final.json"
    final = {"train_on_validation": True, "bank_teachers": ["teacher"], "ferplus_weight": 0.3, "average_last_epochs": 1}
    recipe.write_text(json.dumps({"architecture": TINY_ARCH, "epochs": 1, "head_epochs": 0, "batch_size": 14, **final}))
    out = tmp_path / "model"
    args = ["--recipe", str(recipe), "--data", str(fer_folder), "--bank", str(bank), "--verbose", "0"]
    assert train_main([*args, "--run-dir", str(tmp_path / "r"), "--output", str(out), "--bank-name", "final"]) == 0
    printed = capsys.readouterr().out
    assert "training on 56 images" in printed and "no validation (train_on_validation)" in printed  # 42 + 14
    assert "PublicTest accuracy not measured (it trained on PublicTest)" in printed
    training = json.loads((out / "config.json").read_text(), parse_constant=pytest.fail)["training"]  # no NaN
    assert training["best_epoch"] is None and training["best_val_accuracy"] is None
    assert training["train_images"] == 56 and training["validation_images"] == 0 and training["selected"] == "average"
    member = {m.name: m for m in load_bank(bank, index)}["final"]
    assert member.trained_on_public_test and member.meta["public_test_accuracy"] is None
    assert json.loads((bank / "final.json").read_text(), parse_constant=pytest.fail)["training"]["best_epoch"] is None
    assert train_main(["bank", "select", "--bank", str(bank), "--data", str(fer_folder)]) == 0
    table = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| final")]
    assert table and table[0].split(" | ")[2] == "trained on it"
    assert train_main(["bank", "list", "--bank", str(bank)]) == 0
    assert "final\tconvnet\tPublicTest trained on it" in capsys.readouterr().out
