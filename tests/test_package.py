"""The import surface: __all__, lazy Keras import, helpful errors without a backend, packaging files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import emotionkit

ROOT = Path(__file__).parents[1]


def test_all_names_exist_and_are_documented() -> None:
    import inspect

    assert len(emotionkit.__all__) == len(set(emotionkit.__all__))
    api = (ROOT / "docs" / "api.md").read_text()
    for name in emotionkit.__all__:
        obj = getattr(emotionkit, name)
        if not (inspect.isclass(obj) or inspect.isfunction(obj)):
            continue
        assert obj.__doc__, f"{name} has no docstring"
        if inspect.isfunction(obj):
            assert "Examples:" in obj.__doc__, f"{name} has no example"
        module = obj.__module__
        assert f"::: emotionkit.{name}" in api or f"::: {module}" in api, f"{name} is not in docs/api.md"
    assert emotionkit.__version__.count(".") == 2
    assert (Path(emotionkit.__file__).parent / "py.typed").is_file()


def test_import_does_not_import_keras() -> None:
    code = "import sys, emotionkit; print('keras' in sys.modules, 'tensorflow' in sys.modules, 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False False False"


def test_missing_runtimes_name_the_extras() -> None:
    """Neither Keras nor onnxruntime importable: the error says what to install for each file the model has."""
    code = (
        "import sys\nfor m in ('keras', 'onnxruntime', 'ai_edge_litert'): sys.modules[m] = None\n"
        "from emotionkit import EmotionRecognizer\n"
        "try:\n    EmotionRecognizer.from_pretrained()\n"
        "except ImportError as exc:\n    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "pip install 'emotionkit[tensorflow]'" in out and "emotionkit[torch]" in out
    assert "pip install 'emotionkit[onnx]'" in out


def test_backend_is_chosen_after_import(tmp_path: Path) -> None:
    """KERAS_BACKEND set after ``import emotionkit`` wins over keras.json: emotionkit has not imported Keras yet.

    The target is the backend this test run uses (so it is installed); keras.json names another one.
    """
    import json
    import os

    import keras

    target = keras.backend.backend()
    decoy = "jax" if target != "jax" else "torch"
    (tmp_path / "keras.json").write_text(json.dumps({"backend": decoy}))
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    env["KERAS_HOME"] = str(tmp_path)
    code = f"import os, emotionkit\nos.environ['KERAS_BACKEND'] = {target!r}\n"
    code += "import keras; print(keras.backend.backend())\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout
    assert out.strip().splitlines()[-1] == target


def test_cli_usage_paths(capsys) -> None:  # type: ignore[no-untyped-def]
    from emotionkit.cli import main, sample_image

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == emotionkit.__version__
    assert main([]) == 2
    assert sample_image().is_file()
    with pytest.raises(SystemExit) as exc:  # argparse: no image and no --sample
        main(["predict"])
    assert exc.value.code == 2
    assert "--sample" in capsys.readouterr().err
