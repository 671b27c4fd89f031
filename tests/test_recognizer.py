from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import ASTRONAUT
from emotionkit import EMOTIONS, FIVE_CLASSES, EmotionRecognizer, FacePrediction, annotate


def test_predict_on_path_array_rgb_and_grey_agree(
    tiny_recognizer: EmotionRecognizer, astronaut_bgr: np.ndarray
) -> None:
    from_path = tiny_recognizer.predict(ASTRONAUT)
    from_str = tiny_recognizer.predict(str(ASTRONAUT))
    from_bgr = tiny_recognizer.predict(astronaut_bgr)
    from_rgb = tiny_recognizer.predict(astronaut_bgr[..., ::-1].copy(), color="rgb")
    assert len(from_path) == 1
    for other in (from_str, from_bgr, from_rgb):
        assert other[0].box == from_path[0].box
        np.testing.assert_allclose(
            list(other[0].probabilities.values()), list(from_path[0].probabilities.values()), atol=1e-5
        )
    grey = tiny_recognizer.predict(cv2.cvtColor(astronaut_bgr, cv2.COLOR_BGR2GRAY))
    assert len(grey) == 1


def test_prediction_holds_plain_values(tiny_recognizer: EmotionRecognizer) -> None:
    face = tiny_recognizer.predict(ASTRONAUT)[0]
    assert isinstance(face, FacePrediction)
    assert all(type(v) is int for v in face.box) and type(face.score) is float
    assert face.label in EMOTIONS and set(face.probabilities) == set(EMOTIONS)
    assert abs(sum(face.probabilities.values()) - 1.0) < 1e-5
    assert face.score == max(face.probabilities.values())
    data = json.loads(json.dumps(face.to_dict()))
    assert data["label"] == face.label and len(data["box"]) == 4
    with pytest.raises(AttributeError):
        face.label = "x"  # type: ignore[misc]


def test_batch_inputs_return_one_list_per_image(tiny_recognizer: EmotionRecognizer, astronaut_bgr: np.ndarray) -> None:
    blank = np.zeros((100, 100, 3), np.uint8)
    out = tiny_recognizer.predict([astronaut_bgr, blank, str(ASTRONAUT)])
    assert [len(x) for x in out] == [1, 0, 1]
    stacked = tiny_recognizer.predict(np.stack([astronaut_bgr, astronaut_bgr]))
    assert [len(x) for x in stacked] == [1, 1]
    assert tiny_recognizer.predict([]) == []


def test_no_face_gives_empty_list(tiny_recognizer: EmotionRecognizer) -> None:
    assert tiny_recognizer.predict(np.full((240, 320, 3), 90, np.uint8)) == []


def test_input_arrays_are_not_modified(tiny_recognizer: EmotionRecognizer, astronaut_bgr: np.ndarray) -> None:
    before = astronaut_bgr.copy()
    tiny_recognizer.predict(astronaut_bgr)
    crops = np.random.default_rng(0).integers(0, 255, (3, 60, 60, 3), dtype=np.uint8)
    crops_before = crops.copy()
    tiny_recognizer.predict_faces(crops)
    np.testing.assert_array_equal(astronaut_bgr, before)
    np.testing.assert_array_equal(crops, crops_before)


def test_four_channel_and_float_images_work(tiny_recognizer: EmotionRecognizer, astronaut_bgr: np.ndarray) -> None:
    bgra = cv2.cvtColor(astronaut_bgr, cv2.COLOR_BGR2BGRA)
    assert len(tiny_recognizer.predict(bgra)) == 1
    as_float = astronaut_bgr.astype(np.float32) / 255.0
    assert len(tiny_recognizer.predict(as_float)) == 1


@pytest.mark.parametrize(
    ("bad", "error", "match"),
    [
        (None, TypeError, "None"),
        (42, TypeError, "has type int"),
        ("does/not/exist.png", FileNotFoundError, "does/not/exist.png"),
        (np.zeros((0, 0, 3), np.uint8), ValueError, "empty"),
        (np.zeros(100, np.uint8), ValueError, "shape"),
        (np.full((50, 50, 3), 3.5, np.float32), ValueError, "values in"),
        (np.zeros((50, 50, 3), np.int64), TypeError, "dtype int64"),
    ],
)
def test_bad_input_is_reported_clearly(
    tiny_recognizer: EmotionRecognizer, bad: object, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        tiny_recognizer.predict(bad)  # type: ignore[arg-type]


def test_non_image_file(tiny_recognizer: EmotionRecognizer, tmp_path: Path) -> None:
    fake = tmp_path / "notes.png"
    fake.write_text("this is not an image")
    with pytest.raises(ValueError, match="not a readable image"):
        tiny_recognizer.predict(fake)
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match="not a readable image"):
        tiny_recognizer.predict(empty)


def test_predict_faces_on_crops(tiny_recognizer: EmotionRecognizer) -> None:
    crops = [np.zeros((48, 48), np.uint8), np.full((100, 80, 3), 200, np.uint8)]
    out = tiny_recognizer.predict_faces(crops)
    assert [p.box for p in out] == [(0, 0, 48, 48), (0, 0, 80, 100)]
    assert all(p.detection_score is None for p in out)
    single = tiny_recognizer.predict_faces(np.zeros((1, 48, 48, 1), np.uint8))
    assert len(single) == 1
    with pytest.raises(ValueError, match="empty batch"):
        tiny_recognizer.predict_faces([])


def test_batched_and_single_predictions_agree(tiny_recognizer: EmotionRecognizer) -> None:
    rng = np.random.default_rng(1)
    crops = rng.integers(0, 255, (37, 48, 48), dtype=np.uint8)
    batch = tiny_recognizer.predict_faces(crops)
    one_by_one = [tiny_recognizer.predict_faces(crops[i : i + 1])[0] for i in range(0, 37, 9)]
    for a, b in zip(batch[::9], one_by_one):
        np.testing.assert_allclose(list(a.probabilities.values()), list(b.probabilities.values()), atol=1e-5)


def test_class_restriction_renormalises(tiny_recognizer: EmotionRecognizer) -> None:
    five = tiny_recognizer.with_classes(FIVE_CLASSES)
    assert five.labels == FIVE_CLASSES and tiny_recognizer.labels == EMOTIONS
    crop = np.random.default_rng(2).integers(0, 255, (1, 48, 48), dtype=np.uint8)
    full = tiny_recognizer.predict_faces(crop)[0].probabilities
    sub = five.predict_faces(crop)[0].probabilities
    assert set(sub) == set(FIVE_CLASSES) and abs(sum(sub.values()) - 1) < 1e-5
    total = sum(full[c] for c in FIVE_CLASSES)
    for c in FIVE_CLASSES:
        assert abs(sub[c] - full[c] / total) < 1e-5
    with pytest.raises(ValueError, match="valid labels"):
        tiny_recognizer.with_classes(["joy", "sad"])


def test_max_faces_and_detect(tiny_recognizer: EmotionRecognizer, astronaut_bgr: np.ndarray) -> None:
    pair = np.hstack([astronaut_bgr, cv2.resize(astronaut_bgr, None, fx=1.0, fy=1.0)])
    both = tiny_recognizer.predict(pair)
    assert len(both) == 2
    assert len(tiny_recognizer.predict(pair, max_faces=1)) == 1
    detected = tiny_recognizer.detect(pair)
    areas = [f.box[2] * f.box[3] for f in detected]
    assert areas == sorted(areas, reverse=True)
    with pytest.raises(ValueError, match="max_faces"):
        tiny_recognizer.predict(pair, max_faces=0)


def test_save_pretrained_round_trip(tiny_recognizer: EmotionRecognizer, tmp_path: Path) -> None:
    folder = tiny_recognizer.save_pretrained(tmp_path / "copy")
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "config.json", "model.weights.h5"]
    card = (folder / "README.md").read_text()
    assert "library_name: emotionkit" in card and "pipeline_tag: image-classification" in card
    again = EmotionRecognizer.from_pretrained(folder)
    crop = np.random.default_rng(3).integers(0, 255, (4, 48, 48), dtype=np.uint8)
    for a, b in zip(tiny_recognizer.predict_faces(crop), again.predict_faces(crop)):
        assert a.probabilities == pytest.approx(b.probabilities, abs=1e-6)


def test_annotate_returns_a_new_image(tiny_recognizer: EmotionRecognizer, astronaut_bgr: np.ndarray) -> None:
    faces = tiny_recognizer.predict(astronaut_bgr)
    before = astronaut_bgr.copy()
    out = annotate(astronaut_bgr, faces, bars=True, text="demo")
    assert out.shape == astronaut_bgr.shape and out is not astronaut_bgr
    np.testing.assert_array_equal(astronaut_bgr, before)
    assert np.any(out != astronaut_bgr)
    grey = annotate(cv2.cvtColor(astronaut_bgr, cv2.COLOR_BGR2GRAY), faces)
    assert grey.shape == (512, 512, 3)


def test_push_to_hub_uploads_a_saved_folder(
    tiny_recognizer: EmotionRecognizer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import huggingface_hub

    calls: dict[str, object] = {}

    class FakeApi:
        def __init__(self, token: str | None = None) -> None:
            calls["token"] = token

        def create_repo(self, repo_id: str, private: bool | None = None, exist_ok: bool = False) -> None:
            calls["repo"] = (repo_id, private, exist_ok)

        def upload_folder(self, repo_id: str, folder_path: str, revision: str | None, commit_message: str) -> str:
            calls["files"] = sorted(p.name for p in Path(folder_path).iterdir())
            return "https://hub.example/commit/1"

    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    url = tiny_recognizer.push_to_hub("me/model", token="t", private=True)
    assert url == "https://hub.example/commit/1"
    assert calls["repo"] == ("me/model", True, True)
    assert calls["files"] == ["README.md", "config.json", "model.weights.h5"]


def test_flip_tta_averages_with_the_mirror_image(tiny_recognizer: EmotionRecognizer, tiny_model_dir: Path) -> None:
    crop = np.random.default_rng(5).integers(0, 255, (1, 48, 48), dtype=np.uint8)
    mirrored = crop[:, :, ::-1].copy()
    tta = EmotionRecognizer.from_pretrained(tiny_model_dir, flip_tta=True)
    plain = [tiny_recognizer.predict_faces(c)[0].probabilities for c in (crop, mirrored)]
    expected = {k: (plain[0][k] + plain[1][k]) / 2 for k in plain[0]}
    assert tta.predict_faces(crop)[0].probabilities == pytest.approx(expected, abs=1e-5)
    assert tta.with_classes(FIVE_CLASSES).flip_tta and not tiny_recognizer.flip_tta
