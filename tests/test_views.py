"""Consistent teaching: reproducible views, view members on disk, view targets, training and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import TINY_ARCH
from emotionkit.labels import EMOTIONS
from emotionkit.train.bank import Fer2013Index, load_bank
from emotionkit.train.cli import main as train_main
from emotionkit.train.data import FaceDataset
from emotionkit.train.mixing import MixedBatches
from emotionkit.train.views import ViewPlan, ViewTargets, ViewTeacher, load_view_teacher, write_view_member

STILL = {"rotation": 0.0, "translation": 0.0, "zoom": 0.0, "flip": False, "erasing": 0.0}


def _faces(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, 48, 48)).astype(np.uint8)


def test_plan_is_checked_once_where_it_is_read() -> None:
    for bad, message in (
        ({"count": 0}, "count must be an integer >= 1"),
        ({"count": 2.5}, "count must be an integer >= 1"),
        ({"seed": -1}, "seed must be an integer >= 0"),
        ({"flip": 1}, "flip must be true or false"),
        ({"rotation": 200}, r"rotation must be a number in \[0, 180\]"),
        ({"erasing": "high"}, r"erasing must be a number in \[0, 1\]"),
    ):
        with pytest.raises(ValueError, match=message):
            ViewPlan.from_dict(bad)
    with pytest.raises(ValueError, match="unknown key.*shear"):
        ViewPlan.from_dict({"shear": 0.1})
    plan = ViewPlan(count=3, seed=5)
    assert ViewPlan.from_dict(json.loads(json.dumps(plan.to_dict()))) == plan


def test_views_are_reproducible_per_row_and_view_whatever_the_batch() -> None:
    faces, rows = _faces(6), np.array([10, 11, 12, 13, 14, 15])
    before = faces.copy()
    plan = ViewPlan(count=4, seed=3, erasing=0.5)
    one = plan.render(faces, rows, np.array([0, 1, 2, 3, 0, 1]))
    np.testing.assert_array_equal(faces, before)  # the input is not modified
    assert one.dtype == np.uint8 and one.shape == faces.shape
    # the same (row, view) gives the same face in another batch, in another position
    again = plan.render(faces[[4, 1]], rows[[4, 1]], np.array([0, 1]))
    np.testing.assert_array_equal(again, one[[4, 1]])
    # another view, another seed or another row gives another face
    assert not np.array_equal(plan.render(faces[:1], rows[:1], 1), one[:1])
    assert not np.array_equal(ViewPlan(count=4, seed=4, erasing=0.5).render(faces[:1], rows[:1], 0), one[:1])
    assert not np.array_equal(plan.render(faces[:1], rows[1:2], 0), one[:1])
    with pytest.raises(ValueError, match=r"view numbers must be in \[0, 4\)"):
        plan.render(faces, rows, 4)
    with pytest.raises(ValueError, match="uint8 grey images"):
        plan.render(faces.astype(np.float32), rows, 0)
    with pytest.raises(ValueError, match="6 faces, 5 rows"):
        plan.render(faces, rows[:5], 0)


def test_a_still_plan_gives_the_face_and_a_flip_only_plan_its_mirror() -> None:
    faces, rows = _faces(8), np.arange(8)
    np.testing.assert_array_equal(ViewPlan(count=1, **STILL).render(faces, rows, 0), faces)
    mirrored = ViewPlan(count=1, **{**STILL, "flip": True}).render(faces, rows, 0)
    flipped = [np.array_equal(v, f[:, ::-1]) for v, f in zip(mirrored, faces)]
    kept = [np.array_equal(v, f) for v, f in zip(mirrored, faces)]
    assert all(a or b for a, b in zip(flipped, kept)) and 0 < sum(flipped) < 8
    erased = ViewPlan(count=1, **{**STILL, "erasing": 1.0}).render(faces, rows, 0)
    changed = (erased != faces).mean(axis=(1, 2))
    assert np.all((changed > 0) & (changed <= 0.26))  # one rectangle of 2-25% of the face


def _index(n_per_split: int = 10) -> Fer2013Index:
    n = 3 * n_per_split
    labels = np.arange(n) % 7
    splits = np.repeat(np.array(["Training", "PublicTest", "PrivateTest"]), n_per_split)
    data = FaceDataset(_faces(n), labels, EMOTIONS, [f"p{i:04d}" for i in range(n)])
    return Fer2013Index(data, splits)


def _view_probs(index: Fer2013Index, plan: ViewPlan, seed: int) -> np.ndarray:
    logits = np.random.default_rng(seed).normal(size=(plan.count, len(index.data), 7))
    probs = np.exp(logits)
    return probs / probs.sum(-1, keepdims=True)


def test_view_members_round_trip_average_and_are_checked(tmp_path: Path) -> None:
    index, plan = _index(), ViewPlan(count=3)
    a, b = _view_probs(index, plan, 1), _view_probs(index, plan, 2)
    path = write_view_member(tmp_path, "a-s1", a, index, plan, {"source": "here"})
    write_view_member(tmp_path, "b-s2", b, index, plan, {})
    sidecar = json.loads(path.with_suffix(".json").read_text())
    assert sidecar["views"] == plan.to_dict() and sidecar["source"] == "here" and sidecar["images"] == 30
    assert np.load(path).dtype == np.float16
    teacher = load_view_teacher(tmp_path, ["a-s1", "b-s2", "b-s2"], index)
    assert teacher.names == ("a-s1", "b-s2", "b-s2") and teacher.plan == plan
    np.testing.assert_allclose(teacher.probabilities, (a + 2 * b) / 3, atol=2e-3)
    # calibration fits class offsets on PublicTest's views: a member that knows the labels but whose prior
    # for class 2 is far too low gets it back
    logits = np.where(np.arange(7) == index.data.labels[:, None], 2.0, 0.0) - 3.0 * (np.arange(7) == 2)
    shy = np.repeat((np.exp(logits) / np.exp(logits).sum(1, keepdims=True))[None], plan.count, axis=0)
    write_view_member(tmp_path, "shy", shy, index, plan, {})
    public, labels = index.mask("PublicTest"), index.data.labels
    raw, fixed = (load_view_teacher(tmp_path, ["shy"], index, calibrate=c).probabilities for c in (False, True))
    assert np.mean(raw[:, public].argmax(-1) == labels[public]) < 1.0
    assert np.mean(fixed[:, public].argmax(-1) == labels[public]) == 1.0

    with pytest.raises(ValueError, match=r"shape \(2, 30, 7\), the plan and index need \(3, 30, 7\)"):
        write_view_member(tmp_path, "short", a[:2], index, plan, {})
    with pytest.raises(ValueError, match="member name"):
        write_view_member(tmp_path, "Bad Name", a, index, plan, {})
    with pytest.raises(FileNotFoundError, match=r"view member 'nobody' not found .*'a-s1'"):
        load_view_teacher(tmp_path, ["nobody"], index)
    with pytest.raises(ValueError, match="names no member"):
        load_view_teacher(tmp_path, [], index)
    write_view_member(
        tmp_path, "other-plan", _view_probs(index, ViewPlan(count=3, seed=9), 3), index, ViewPlan(count=3, seed=9), {}
    )
    with pytest.raises(ValueError, match="drew its views with"):
        load_view_teacher(tmp_path, ["a-s1", "other-plan"], index)
    reordered = Fer2013Index(
        FaceDataset(index.data.images, index.data.labels, EMOTIONS, index.data.paths[::-1]), index.splits
    )
    with pytest.raises(ValueError, match="another image order"):
        load_view_teacher(tmp_path, ["a-s1"], reordered)


def test_view_targets_use_the_teacher_on_the_view_the_student_sees() -> None:
    index, plan = _index(), ViewPlan(count=4, seed=2)
    probs = _view_probs(index, plan, 0).astype(np.float32)
    rows = np.flatnonzero(index.mask("Training"))
    faces = index.data.images[rows]
    labels = np.eye(7, dtype=np.float32)[index.data.labels[rows]]
    targets = ViewTargets(faces, rows, ViewTeacher(("t",), plan, probs), weight=1.0, temperature=1.0, size=24)
    batch = np.array([0, 3, 5])
    x, y = targets.batch(batch, labels[batch], np.random.default_rng(7))
    views = np.random.default_rng(7).integers(plan.count, size=3)  # the same draw
    np.testing.assert_allclose(y, probs[views, rows[batch]], atol=1e-6)
    from emotionkit.preprocessing import prepare_faces

    np.testing.assert_array_equal(x, prepare_faces(plan.render(faces[batch], rows[batch], views), 24))
    assert x.shape == (3, 24, 24, 1) and x.dtype == np.float32
    half = ViewTargets(faces, rows, ViewTeacher(("t",), plan, probs), weight=0.5, temperature=2.0, size=48)
    _, mixed = half.batch(batch, labels[batch], np.random.default_rng(7))
    soft = np.sqrt(probs[views, rows[batch]])
    soft /= soft.sum(1, keepdims=True)
    np.testing.assert_allclose(mixed, 0.5 * labels[batch] + 0.5 * soft, atol=1e-6)
    with pytest.raises(ValueError, match=r"view_weight must be in \[0, 1\]"):
        ViewTargets(faces, rows, ViewTeacher(("t",), plan, probs), weight=1.5, temperature=1.0, size=48)
    with pytest.raises(ValueError, match="10 faces and 9 bank rows"):
        ViewTargets(faces, rows[:9], ViewTeacher(("t",), plan, probs), weight=0.5, temperature=1.0, size=48)

    batches = MixedBatches(prepare_faces(faces, 24), labels, 4, {}, seed=1, views=targets)
    first, first_y = batches[0]
    second, _ = batches[0]
    np.testing.assert_array_equal(first, second)  # a batch is reproducible from the seed, epoch and index
    assert first.shape == (4, 24, 24, 1) and np.allclose(first_y.sum(1), 1.0)
    with pytest.raises(ValueError, match="views hold 10 faces, the batches 9"):
        MixedBatches(prepare_faces(faces[:9], 24), labels[:9], 4, {}, views=targets)


def test_training_needs_views_exactly_when_the_recipe_names_view_teachers(tmp_path: Path) -> None:
    from emotionkit.train.trainer import TrainConfig, train

    data = FaceDataset(_faces(14), np.arange(14) % 7, EMOTIONS)
    config = TrainConfig(TINY_ARCH, epochs=1, head_epochs=0, view_teachers=["t"])
    with pytest.raises(ValueError, match="needs views"):
        train(config, data, data, tmp_path / "a")
    plan = ViewPlan(count=2)
    teacher = ViewTeacher(("t",), plan, _view_probs(_index(7), plan, 0).astype(np.float32)[:, :14])
    views = ViewTargets(data.images, np.arange(14), teacher, 0.5, 1.0, 48)
    with pytest.raises(ValueError, match="needs views"):
        train(TrainConfig(TINY_ARCH, epochs=1, head_epochs=0), data, data, tmp_path / "b", views=views)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()  # raised before any write


def test_recipe_keys_for_view_teachers_are_checked(tmp_path: Path) -> None:
    from emotionkit.train.trainer import TrainConfig

    recipe = tmp_path / "r.json"
    for bad, message in (
        ({"view_teachers": "m-s1"}, "view_teachers must be a list of bank member names"),
        ({"view_teachers": ["m"], "view_weight": 2}, r"view_weight must be a number in \[0, 1\]"),
        ({"view_teachers": ["m"], "ensemble": [{"seed": 1}]}, "view_teachers teach one model, not an ensemble"),
    ):
        recipe.write_text(json.dumps({"architecture": TINY_ARCH, **bad}))
        with pytest.raises(ValueError, match=message):
            TrainConfig.from_file(recipe)
    recipe.write_text(json.dumps({"architecture": TINY_ARCH, "view_teachers": ["m"], "calibrate_teachers": True}))
    assert TrainConfig.from_file(recipe).view_teachers == ["m"]


def test_cli_stores_a_models_views_and_a_student_learns_from_them(
    fer_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    bank = tmp_path / "bank"
    recipe = tmp_path / "teacher.json"
    base = {"architecture": TINY_ARCH, "epochs": 1, "head_epochs": 0, "batch_size": 14}
    recipe.write_text(json.dumps(base))
    common = ["--data", str(fer_folder), "--bank", str(bank), "--verbose", "0"]
    run = ["--run-dir", str(tmp_path / "rt"), "--output", str(tmp_path / "teacher")]
    assert train_main(["--recipe", str(recipe), *run, *common, "--bank-name", "t-s1", "--bank-views"]) == 0
    assert "view member t-s1: 8 views" in capsys.readouterr().out
    index = Fer2013Index.load(fer_folder)
    teacher = load_view_teacher(bank / "views", ["t-s1"], index)
    assert teacher.probabilities.shape == (8, len(index.data), 7) and teacher.plan == ViewPlan()
    assert [m.name for m in load_bank(bank)] == ["t-s1"]  # the views folder is not read as bank members
    # the verb: another plan, and the model's probabilities on those views
    views = ["bank", "views", str(tmp_path / "teacher"), "--name", "t-s1-4", "--count", "4", "--seed", "1"]
    assert train_main([*views, "--bank", str(bank), "--data", str(fer_folder)]) == 0
    assert load_view_teacher(bank / "views", ["t-s1-4"], index).plan == ViewPlan(count=4, seed=1)
    from emotionkit import EmotionRecognizer
    from emotionkit.train.views import view_probabilities

    direct = view_probabilities(
        EmotionRecognizer.from_pretrained(tmp_path / "teacher"),
        index.data.images[:5],
        np.arange(5),
        ViewPlan(count=4, seed=1),
    )
    np.testing.assert_allclose(
        load_view_teacher(bank / "views", ["t-s1-4"], index).probabilities[:, :5], direct, atol=2e-3
    )

    student = tmp_path / "student.json"
    taught = {"view_teachers": ["t-s1"], "view_weight": 0.6, "calibrate_teachers": True, "bank_teachers": ["t-s1"]}
    student.write_text(json.dumps({**base, **taught}))
    capsys.readouterr()
    loaded = Fer2013Index.load
    folders: list[Path] = []
    monkeypatch.setattr(Fer2013Index, "load", lambda root: (folders.append(Path(root)), loaded(root))[1])
    run = ["--run-dir", str(tmp_path / "rs"), "--output", str(tmp_path / "student")]
    assert train_main(["--recipe", str(student), *run, *common, "--bank-name", "s-s1", "--bank-views"]) == 0
    assert folders == [fer_folder]  # bank teachers, view teachers, the bank entry and its views: one load
    assert {m.name for m in load_bank(bank)} == {"t-s1", "s-s1"}
    monkeypatch.undo()
    out = capsys.readouterr().out
    assert "consistent teaching from view members t-s1 calibrated on PublicTest (8 views per face, weight 0.6)" in out
    config = json.loads((tmp_path / "student" / "config.json").read_text())
    assert config["training"]["recipe"]["view_teachers"] == ["t-s1"]
    # bad input is a usage error, before anything is trained
    assert (
        train_main(
            [
                "--recipe",
                str(recipe),
                "--run-dir",
                str(tmp_path / "x"),
                "--output",
                str(tmp_path / "y"),
                *common,
                "--bank-views",
            ]
        )
        == 2
    )
    assert "--bank-views stores the views of the model added with --bank-name" in capsys.readouterr().err
    student.write_text(json.dumps({**base, "view_teachers": ["nobody"]}))
    assert (
        train_main(
            ["--recipe", str(student), "--run-dir", str(tmp_path / "x"), "--output", str(tmp_path / "y"), *common]
        )
        == 2
    )
    assert "view member 'nobody' not found" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
