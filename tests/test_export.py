"""Export to ONNX and LiteRT, the runtimes that run the exported files, and their errors."""

from __future__ import annotations

import importlib.util
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from conftest import ASTRONAUT, TINY_ARCH, tiny_config
from emotionkit import EmotionRecognizer
from emotionkit.errors import InvalidModelError, ModelNotFoundError
from emotionkit.export import TOLERANCE, probe_batch
from emotionkit.model_files import read_config, sha256_file, write_config

_MISSING = [m for m in ("tensorflow", "tf2onnx", "onnx", "onnxruntime") if importlib.util.find_spec(m) is None]
if _MISSING:  # found without importing: TensorFlow must not be loaded into a PyTorch or JAX test process
    pytest.skip(f"exporting needs {', '.join(_MISSING)}: pip install -e '.[export,test]'", allow_module_level=True)
FORMATS = {"onnx": "model.onnx", "litert": "model.tflite"}


@pytest.fixture(scope="module", params=sorted(FORMATS))
def exported(request: pytest.FixtureRequest, tiny_recognizer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model exported once per format (through a TensorFlow subprocess on torch and JAX)."""
    if request.param == "litert" and importlib.util.find_spec("ai_edge_litert") is None:
        pytest.skip("the LiteRT runtime needs ai-edge-litert (no Windows wheels)")
    return tiny_recognizer.export(tmp_path_factory.mktemp(request.param) / "exported", format=request.param)


def test_an_export_is_a_model_folder_with_labels_framing_and_a_checked_file(exported: Path, tiny_recognizer) -> None:
    config = read_config(exported)
    (name,) = config.files
    assert name in FORMATS.values() and sorted(p.name for p in exported.iterdir()) == sorted(
        ["README.md", "config.json", name]
    )
    assert config.files[name] == sha256_file(exported / name)
    assert config.labels == tiny_recognizer.config.labels
    assert config.preprocessing == tiny_recognizer.config.preprocessing
    assert config.flip_tta == tiny_recognizer.config.flip_tta and config.input_size == 48
    assert not list(exported.parent.glob(".*export-*")), "the export left its work folder behind"


def test_an_exported_model_predicts_like_the_keras_model(exported: Path, tiny_recognizer) -> None:
    rec = EmotionRecognizer.from_pretrained(exported)
    assert {"onnx": "model.onnx", "litert": "model.tflite"}[rec.runtime.format] in read_config(exported).files
    probe = probe_batch(48)
    want_probs = tiny_recognizer.runtime.probabilities(probe)
    np.testing.assert_allclose(rec.runtime.probabilities(probe), want_probs, atol=1e-5)
    want, got = tiny_recognizer.predict(ASTRONAUT), rec.predict(ASTRONAUT)
    assert [f.box for f in got] == [f.box for f in want] and [f.label for f in got] == [f.label for f in want]
    assert rec.runtime.probabilities(np.zeros((0, 48, 48, 1), np.float32)).shape == (0, 7)
    assert rec.runtime.probabilities(np.zeros((300, 48, 48, 1), np.float32)).shape == (300, 7)  # > MAX_BATCH


def test_an_exported_runtime_is_safe_across_threads(exported: Path) -> None:
    runtime = EmotionRecognizer.from_pretrained(exported).runtime
    batches = [probe_batch(48, 4 + i % 3) for i in range(24)]
    expected = [runtime.probabilities(b) for b in batches]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(runtime.probabilities, batches))
    for got, want in zip(results, expected):
        np.testing.assert_array_equal(got, want)


def test_an_exported_recognizer_saves_its_file_and_cannot_be_personalised(exported: Path, tmp_path: Path) -> None:
    rec = EmotionRecognizer.from_pretrained(exported)
    copy = rec.save_pretrained(tmp_path / "copy")
    assert read_config(copy).files == read_config(exported).files
    assert EmotionRecognizer.from_pretrained(copy).runtime.format == rec.runtime.format
    with pytest.raises(TypeError, match="runtime='keras'"):
        rec.personalize([ASTRONAUT] * 4, ["happy"] * 4)
    with pytest.raises(TypeError, match="not a Keras model"):
        rec.model  # noqa: B018
    with pytest.raises(TypeError, match="not a Keras model"):
        rec.export(tmp_path / "again")


def test_a_keras_folder_asked_for_onnx_says_how_to_export_it(tiny_model_dir: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="emotionkit export .* --format onnx"):
        EmotionRecognizer.from_pretrained(tiny_model_dir, runtime="onnx")
    with pytest.raises(ValueError, match="unknown runtime 'tensorrt'; accepted: auto, keras, onnx, litert"):
        EmotionRecognizer.from_pretrained(tiny_model_dir, runtime="tensorrt")


def test_export_refuses_unknown_formats_and_existing_folders(tiny_recognizer, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown export format 'tflite'; accepted: onnx, litert"):
        tiny_recognizer.export(tmp_path / "x", format="tflite")
    (tmp_path / "taken").mkdir()
    with pytest.raises(FileExistsError, match="overwrite=True"):
        tiny_recognizer.export(tmp_path / "taken")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]


def test_a_failed_export_leaves_nothing_behind(
    tiny_recognizer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import emotionkit.export

    monkeypatch.setattr(emotionkit.export, "TOLERANCE", -1.0)  # every check fails
    with pytest.raises(RuntimeError, match="disagrees with the Keras model"):
        tiny_recognizer.export(tmp_path / "out", format="onnx")
    assert list(tmp_path.iterdir()) == []
    assert TOLERANCE == 1e-4


def test_a_corrupt_or_missing_exported_file_is_named(exported: Path, tmp_path: Path) -> None:
    import shutil

    (name,) = read_config(exported).files
    broken = Path(shutil.copytree(exported, tmp_path / "broken"))
    (broken / name).write_bytes(b"not a model" * 100)
    with pytest.raises(InvalidModelError, match=f"broken/{name} has sha256"):
        EmotionRecognizer.from_pretrained(broken)
    write_config(broken, read_config(broken).replace(files={name: sha256_file(broken / name)}))  # sum matches now
    with pytest.raises(InvalidModelError, match=f"cannot load .*broken/{name}"):
        EmotionRecognizer.from_pretrained(broken)
    (broken / name).unlink()
    with pytest.raises(FileNotFoundError, match="holds config.json and a model file"):
        EmotionRecognizer.from_pretrained(broken)


def test_a_file_of_another_model_is_refused(exported: Path, tmp_path: Path) -> None:
    """The exported file of a 7-class model under a 3-class config: refused, naming the file."""
    import shutil

    (name,) = read_config(exported).files
    other = Path(shutil.copytree(exported, tmp_path / "other"))
    config = read_config(other)
    write_config(other, config.replace(labels=("happy", "sad", "neutral")))
    with pytest.raises(InvalidModelError, match=f"other/{name} takes .* it belongs to another model"):
        EmotionRecognizer.from_pretrained(other)


def test_a_runtime_that_is_not_installed_says_what_to_install(
    exported: Path, tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import emotionkit.runtimes

    monkeypatch.setattr(emotionkit.runtimes, "installed_runtimes", lambda: ())
    fmt = "onnx" if (exported / "model.onnx").exists() else "litert"
    with pytest.raises(ImportError, match=rf"pip install 'emotionkit\[{fmt}\]'"):
        EmotionRecognizer.from_pretrained(exported, runtime=fmt)
    with pytest.raises(ImportError, match=r"no runtime for it is installed: pip install 'emotionkit\[tensorflow\]'"):
        EmotionRecognizer.from_pretrained(tiny_model_dir)


def test_auto_prefers_keras_then_onnx_then_litert(tmp_path: Path, tiny_recognizer) -> None:
    from emotionkit.runtimes import choose_runtime

    assert choose_runtime("auto", ("keras", "onnx", "litert"), ("keras", "onnx", "litert")) == "keras"
    assert choose_runtime("auto", ("keras", "onnx", "litert"), ("litert", "onnx")) == "onnx"
    assert choose_runtime("auto", ("keras", "litert"), ("onnx", "litert")) == "litert"
    with pytest.raises(ModelNotFoundError, match="holds only exported files"):
        choose_runtime("keras", ("onnx",), ("keras", "onnx"))


def test_the_export_command(tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from emotionkit.cli import main

    assert main(["export", str(tiny_model_dir), str(tmp_path / "cli-onnx"), "--format", "onnx"]) == 0
    assert "wrote" in capsys.readouterr().out
    assert EmotionRecognizer.from_pretrained(tmp_path / "cli-onnx").runtime.format == "onnx"
    assert main(["export", str(tiny_model_dir), str(tmp_path / "cli-onnx")]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["export", str(tiny_model_dir), str(tmp_path / "cli-onnx"), "--overwrite"]) == 0
    assert main(["predict", str(ASTRONAUT), "--model", str(tmp_path / "cli-onnx"), "--runtime", "onnx", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["faces"]


def test_a_model_with_another_label_set_exports_too(tmp_path: Path) -> None:
    import keras

    from emotionkit.models import build_model

    keras.utils.set_random_seed(1)
    labels = ("happy", "sad", "neutral")
    rec = EmotionRecognizer(build_model(TINY_ARCH, 3), tiny_config().replace(labels=labels, flip_tta=True))
    out = rec.export(tmp_path / "three", format="onnx")
    loaded = EmotionRecognizer.from_pretrained(out)
    assert loaded.labels == labels and loaded.flip_tta
    crops = probe_batch(48)[..., 0]
    np.testing.assert_allclose(loaded.classify(crops), rec.classify(crops), atol=1e-5)


def test_a_personalised_recognizer_exports_with_its_prototypes(tiny_recognizer, tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    crops = [rng.integers(0, 255, (48, 48), dtype=np.uint8) for _ in range(4)]
    me = tiny_recognizer.personalize(crops, ["happy", "sad", "happy", "sad"], crops=True)
    exported = EmotionRecognizer.from_pretrained(me.export(tmp_path / "me-onnx", format="onnx"))
    assert exported.config.architecture["name"] == "personalized" and exported.runtime.format == "onnx"
    np.testing.assert_allclose(exported.classify(crops), me.classify(crops), atol=1e-5)
