"""personalize(): validation before any work, unchanged base, round trip, and a real-data check."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import ASTRONAUT, shared
from emotionkit import EmotionRecognizer


def _crops(n: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 255, (48, 48), dtype=np.uint8) for _ in range(n)]


def test_personalize_crops_returns_new_recognizer(tiny_recognizer: EmotionRecognizer, tmp_path: Path) -> None:
    crops = _crops(6)
    labels = ["happy", "happy", "sad", "sad", "angry", "angry"]
    before = [w.copy() for w in tiny_recognizer.model.get_weights()]
    probe = _crops(3, seed=9)
    base_out = [p.probabilities for p in tiny_recognizer.predict_faces(probe)]
    me = tiny_recognizer.personalize(crops, labels, crops=True, validation_split=0.4)
    assert me is not tiny_recognizer and me.labels == tiny_recognizer.labels
    for a, b in zip(before, tiny_recognizer.model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert [p.probabilities for p in tiny_recognizer.predict_faces(probe)] == base_out

    report = me.personalization_report
    assert report is not None and report.train_images == 3 and report.heldout_images == 3
    assert report.classes == ["angry", "happy", "sad"]
    # with every image as a prototype, each one's own label gains probability
    everything = tiny_recognizer.personalize(crops, labels, crops=True, validation_split=0.0, temperature=1e-3)
    for crop, label in zip(crops, labels):
        before_p = tiny_recognizer.predict_faces([crop])[0].probabilities[label]
        assert everything.predict_faces([crop])[0].probabilities[label] > before_p

    folder = me.save_pretrained(tmp_path / "me")
    config = (folder / "config.json").read_text()
    assert '"personalized"' in config and '"base"' in config
    again = EmotionRecognizer.from_pretrained(folder)
    for a, b in zip(me.predict_faces(probe + crops), again.predict_faces(probe + crops)):
        assert a.probabilities == pytest.approx(b.probabilities, abs=1e-6)


def test_prototype_blend_math() -> None:
    """The blend layer on hand-made features: gated, nearest-prototype, base kept for classes without examples."""
    from emotionkit.models import PrototypeBlend, appearance_vectors

    layer = PrototypeBlend(num_prototypes=2, feature_dim=3, num_classes=3, gate_dim=4)
    layer.build([(None, 3), (None, 3), (None, 4, 4, 1)])
    prototypes = np.array([[1, 0, 0], [0, 1, 0]], np.float32)
    labels = np.array([[1, 0, 0], [0, 1, 0]], np.float32)  # class 2 has no example
    person = np.zeros((1, 4, 4, 1), np.float32)
    person[0, :2, :2] = 1.0  # what the person's faces "look like"
    stranger = np.zeros((1, 4, 4, 1), np.float32)
    stranger[0, 2:, 2:] = 1.0
    look = np.repeat(np.asarray(appearance_vectors(person)), 2, axis=0)
    weights = [prototypes, labels, look, np.float32(0.9), np.float32(200.0), np.float32(0.01), np.float32(1.0)]
    layer.set_weights(weights)
    base = np.array([[0.1, 0.2, 0.7]] * 3, np.float32)
    features = np.array([[1, 0, 0], [0, 1, 0.05], [1, 0, 0]], np.float32)  # near p0, near p1, near p0
    faces = np.concatenate([person, person, stranger])  # the third face belongs to someone else
    out = np.asarray(layer([features, base, faces]))
    np.testing.assert_allclose(out.sum(1), 1.0, atol=1e-5)
    np.testing.assert_allclose(out[0], [0.3, 0.0, 0.7], atol=1e-3)  # mass of classes 0+1 moves to 0; 2 keeps 0.7
    np.testing.assert_allclose(out[1], [0.0, 0.3, 0.7], atol=1e-3)
    np.testing.assert_allclose(out[2], base[2], atol=1e-4)  # gate closed for a stranger: base output unchanged


def test_zero_strength_keeps_base_predictions(tiny_recognizer: EmotionRecognizer) -> None:
    crops = _crops(4, seed=4)
    me = tiny_recognizer.personalize(crops, ["happy", "sad", "happy", "sad"], crops=True, strength=0.0)
    for a, b in zip(me.predict_faces(crops), tiny_recognizer.predict_faces(crops)):
        assert a.probabilities == pytest.approx(b.probabilities, abs=1e-5)


def test_repersonalising_starts_from_the_base(tiny_recognizer: EmotionRecognizer) -> None:
    crops = _crops(4, seed=5)
    once = tiny_recognizer.personalize(crops, ["happy", "sad", "happy", "sad"], crops=True)
    twice = once.personalize(crops[:2], ["angry", "fear"], crops=True)
    assert twice.config.architecture["base"]["name"] == "convnet"
    assert twice.config.architecture["num_prototypes"] == 2


def test_photos_and_folder_inputs(tiny_recognizer: EmotionRecognizer, tmp_path: Path) -> None:
    photo = cv2.imread(str(ASTRONAUT))
    me = tiny_recognizer.personalize(
        [ASTRONAUT, photo, str(ASTRONAUT)], ["happy", "happy", "neutral"], validation_split=0
    )
    assert me.personalization_report is not None and me.personalization_report.train_images == 3
    for label in ("happy", "sad"):
        (tmp_path / "me" / label).mkdir(parents=True)
        cv2.imwrite(str(tmp_path / "me" / label / "1.png"), photo)
    from_folder = tiny_recognizer.personalize(tmp_path / "me")
    assert from_folder.personalization_report is not None and from_folder.personalization_report.classes == [
        "happy",
        "sad",
    ]


@pytest.mark.parametrize(
    ("images", "labels", "error", "match"),
    [
        ([ASTRONAUT, ASTRONAUT], ["happy"], ValueError, "2 images but 1 labels"),
        ([ASTRONAUT, ASTRONAUT], ["happy", "joy"], ValueError, "unknown label.*joy.*valid labels are: angry"),
        ([ASTRONAUT], ["happy"], ValueError, "at least 2 images"),
        ([ASTRONAUT, 5], ["happy", "sad"], TypeError, "image 1 has type int"),
        ([ASTRONAUT, "missing.png"], ["happy", "sad"], FileNotFoundError, "missing.png"),
        ([ASTRONAUT, ASTRONAUT], None, ValueError, "labels are required"),
    ],
)
def test_bad_input_rejected_before_training(
    tiny_recognizer: EmotionRecognizer, images: list, labels: list | None, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        tiny_recognizer.personalize(images, labels)


def test_images_without_a_face_are_named(tiny_recognizer: EmotionRecognizer, tmp_path: Path) -> None:
    blank = tmp_path / "wall.png"
    cv2.imwrite(str(blank), np.full((200, 200, 3), 120, np.uint8))
    with pytest.raises(ValueError, match=r"no face found in 1 image\(s\): .*wall.png"):
        tiny_recognizer.personalize([ASTRONAUT, blank], ["happy", "sad"])
    text = tmp_path / "notes.jpg"
    text.write_text("hello")
    with pytest.raises(ValueError, match="not a readable image"):
        tiny_recognizer.personalize([ASTRONAUT, text], ["happy", "sad"])


@pytest.mark.data
def test_real_people_gain_and_others_unchanged(bundled: EmotionRecognizer) -> None:
    """jaffe-dev, 1 photo per class per identity: the person's other photos improve on average by 15+ points,
    and other people's faces (FER-2013 PublicTest) keep the base prediction."""
    from emotionkit.train.data import load_fer2013_folder

    root = shared("data", "jaffe-dev")
    others = load_fer2013_folder(shared("data", "fer2013"), "PublicTest").sample(256, seed=3)  # one batch
    base_others = [p.label for p in bundled.predict_faces(list(others.images))]
    gains = []
    for person in ("KA", "KL", "KM", "KR", "MK"):
        photos = sorted(root.glob(f"*/{person}.*.png"))
        chosen: dict[str, Path] = {}
        for p in photos:
            chosen.setdefault(p.parent.name, p)
        test = [p for p in photos if p not in chosen.values()]
        me = bundled.personalize(list(chosen.values()), list(chosen), validation_split=0.0)

        def accuracy(rec: EmotionRecognizer, test: list[Path] = test) -> float:
            return float(np.mean([bool(r) and r[0].label == p.parent.name for r, p in zip(rec.predict(test), test)]))

        gains.append(accuracy(me) - accuracy(bundled))
        same = np.mean([p.label == b for p, b in zip(me.predict_faces(list(others.images)), base_others)])
        assert same >= 0.99, f"{person}: personalisation changed {1 - same:.1%} of other people's predictions"
    assert np.mean(gains) >= 0.15, gains
