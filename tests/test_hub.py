"""Hub loading, end to end through the real huggingface_hub client and a loopback server.

Each scenario runs in a fresh Python process, because huggingface_hub reads
HF_ENDPOINT and HF_HUB_OFFLINE when it is imported, as it does for users.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from emotionkit import EmotionRecognizer, ModelNotFoundError
from emotionkit.errors import InvalidModelError
from emotionkit.hub import resolve_model, sha256_file
from hub_server import FakeHub

REPO = "acme/emotion-tiny"


def _files(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in ("config.json", "model.weights.h5", "README.md")}


@pytest.fixture()
def hub(tiny_recognizer: EmotionRecognizer, tmp_path: Path):
    folder = tiny_recognizer.save_pretrained(tmp_path / "published")
    server = FakeHub()
    files = _files(folder)
    server.repos[REPO] = {"main": files, "v1": {**files, "README.md": b"# version one\n"}}
    server.repos["acme/no-weights"] = {"main": {"config.json": files["config.json"]}}
    corrupt = dict(files)
    weights = bytearray(files["model.weights.h5"])
    middle = len(weights) // 2
    weights[middle : middle + 64] = bytes(255 - b for b in weights[middle : middle + 64])  # flip bits, same size
    corrupt["model.weights.h5"] = bytes(weights)
    server.repos["acme/corrupt"] = {"main": corrupt}
    server.start()
    yield server, folder
    server.stop()


def run_client(code: str, hf_home: Path, endpoint: str, offline: bool = False) -> dict:
    env = dict(os.environ)
    env.update({"HF_ENDPOINT": endpoint, "HF_HOME": str(hf_home), "HF_HUB_DISABLE_TELEMETRY": "1"})
    env.pop("HF_HUB_CACHE", None)
    env["HF_HUB_OFFLINE"] = "1" if offline else "0"
    prelude = textwrap.dedent(
        """
        import json, sys
        from emotionkit.hub import resolve_model, PRESETS, Preset
        def attempt(fn):
            try:
                return {"ok": str(fn())}
            except Exception as exc:
                return {"error": type(exc).__name__, "message": str(exc)}
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)], env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_download_then_cache_with_server_stopped_then_offline(
    hub, tiny_recognizer: EmotionRecognizer, tmp_path: Path
) -> None:
    server, folder = hub
    home = tmp_path / "hf"
    first = run_client(f"print(json.dumps(attempt(lambda: resolve_model({REPO!r}))))", home, server.url)
    local = Path(first["ok"])
    assert local.is_dir() and "models--acme--emotion-tiny" in str(local) and str(home) in str(local)
    assert sha256_file(local / "model.weights.h5") == sha256_file(folder / "model.weights.h5")
    assert ("GET", f"/{REPO}/resolve/main/model.weights.h5") in server.requests

    # the downloaded folder loads and predicts exactly like the original
    loaded = EmotionRecognizer.from_pretrained(local)
    crops = np.random.default_rng(0).integers(0, 255, (3, 48, 48), dtype=np.uint8)
    for a, b in zip(loaded.predict_faces(crops), tiny_recognizer.predict_faces(crops)):
        assert a.probabilities == pytest.approx(b.probabilities, abs=1e-6)

    server.stop()  # cached files are still returned when the Hub cannot be reached
    cached = run_client(f"print(json.dumps(attempt(lambda: resolve_model({REPO!r}))))", home, server.url)
    assert Path(cached["ok"]) == local
    offline = run_client(f"print(json.dumps(attempt(lambda: resolve_model({REPO!r}))))", home, server.url, offline=True)
    assert Path(offline["ok"]) == local


def test_offline_and_not_cached_is_a_clear_error(hub, tmp_path: Path) -> None:
    server, _ = hub
    out = run_client(
        f"print(json.dumps(attempt(lambda: resolve_model({REPO!r}))))", tmp_path / "empty", server.url, offline=True
    )
    assert out["error"] == "ModelNotFoundError"
    assert "not in the local cache" in out["message"] and "local folder" in out["message"]


def test_revision_is_honoured(hub, tmp_path: Path) -> None:
    server, _ = hub
    out = run_client(
        f"print(json.dumps(attempt(lambda: resolve_model({REPO!r}, revision='v1'))))", tmp_path / "hf", server.url
    )
    assert (Path(out["ok"]) / "README.md").read_text() == "# version one\n"
    missing = run_client(
        f"print(json.dumps(attempt(lambda: resolve_model({REPO!r}, revision='nope'))))", tmp_path / "hf", server.url
    )
    assert missing["error"] == "ModelNotFoundError" and "no revision 'nope'" in missing["message"]


def test_404s_name_what_is_missing(hub, tmp_path: Path) -> None:
    server, _ = hub
    code = """
    unknown = attempt(lambda: resolve_model("acme/unknown"))
    print(json.dumps([unknown, attempt(lambda: resolve_model("acme/no-weights"))]))
    """
    unknown, no_weights = run_client(code, tmp_path / "hf", server.url)  # type: ignore[misc]
    assert unknown["error"] == "ModelNotFoundError" and "acme/unknown" in unknown["message"]
    assert "accepted" in unknown["message"].lower()
    assert no_weights["error"] == "ModelNotFoundError" and "has no model.weights.h5" in no_weights["message"]


def test_registered_preset_sha256_catches_corruption(hub, tmp_path: Path) -> None:
    server, folder = hub
    sums = {name: sha256_file(folder / name) for name in ("config.json", "model.weights.h5")}
    code = f"""
    PRESETS["tiny"] = Preset("tiny", "test", repo_id="acme/corrupt", sha256={sums!r})
    PRESETS["tiny-ok"] = Preset("tiny-ok", "test", repo_id={REPO!r}, sha256={sums!r})
    print(json.dumps([attempt(lambda: resolve_model("tiny")), attempt(lambda: resolve_model("tiny-ok"))]))
    """
    bad, good = run_client(code, tmp_path / "hf", server.url)  # type: ignore[misc]
    assert bad["error"] == "InvalidModelError" and "sha256" in bad["message"] and "corrupt" in bad["message"]
    assert Path(good["ok"]).is_dir()


def test_local_resolution_errors(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="accepted"):
        resolve_model("./no/such/folder")
    with pytest.raises(ModelNotFoundError, match="not a folder"):
        resolve_model("not a repo id!")
    with pytest.raises(TypeError, match="got int"):
        resolve_model(3)  # type: ignore[arg-type]
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match="config.json"):
        EmotionRecognizer.from_pretrained(empty)


def test_broken_model_folders(tiny_model_dir: Path, tmp_path: Path) -> None:
    import shutil

    bad_json = tmp_path / "bad_json"
    shutil.copytree(tiny_model_dir, bad_json)
    (bad_json / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        EmotionRecognizer.from_pretrained(bad_json)

    mismatch = tmp_path / "mismatch"
    shutil.copytree(tiny_model_dir, mismatch)
    config = json.loads((mismatch / "config.json").read_text())
    config["architecture"]["widths"] = [8, 16]
    (mismatch / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="cannot load"):
        EmotionRecognizer.from_pretrained(mismatch)

    truncated = tmp_path / "truncated"
    shutil.copytree(tiny_model_dir, truncated)
    (truncated / "model.weights.h5").write_bytes(b"garbage")
    with pytest.raises(InvalidModelError, match="model.weights.h5 has sha256 .* corrupt"):
        EmotionRecognizer.from_pretrained(truncated)
    config = json.loads((truncated / "config.json").read_text())
    del config["files"]  # a folder saved before sums were recorded: h5py's error, named
    (truncated / "config.json").write_text(json.dumps(config))
    with pytest.raises(InvalidModelError, match="cannot load"):
        EmotionRecognizer.from_pretrained(truncated)

    future = tmp_path / "future"
    shutil.copytree(tiny_model_dir, future)
    config = json.loads((future / "config.json").read_text())
    config["format_version"] = 99
    (future / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="upgrade emotionkit"):
        EmotionRecognizer.from_pretrained(future)


def test_a_hub_that_never_answers_fails_within_the_timeout(tmp_path: Path) -> None:
    """Probe: a Hub endpoint that accepts connections and never answers kept the caller waiting > 75 s."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)  # the kernel accepts connections; nobody ever reads or answers them
    try:
        endpoint = f"http://127.0.0.1:{listener.getsockname()[1]}"
        code = 'import time; t = time.time(); r = attempt(lambda: resolve_model("acme/silent", timeout=2)); '
        code += 'r["seconds"] = time.time() - t; print(json.dumps(r))'
        result = run_client(code, tmp_path / "hf", endpoint)
    finally:
        listener.close()
    assert result["error"] == "ModelNotFoundError"
    assert "did not answer within 2 s" in result["message"] and "EMOTIONKIT_HUB_TIMEOUT" in result["message"]
    assert result["seconds"] < 20


def test_timeout_and_empty_names_are_checked() -> None:
    from emotionkit.hub import hub_timeout

    with pytest.raises(ModelNotFoundError, match="model name is empty"):
        EmotionRecognizer.from_pretrained("")
    with pytest.raises(ValueError, match="timeout must be a positive number"):
        resolve_model("acme/x", timeout=0)
    os.environ["EMOTIONKIT_HUB_TIMEOUT"] = "soon"
    try:
        with pytest.raises(ValueError, match="EMOTIONKIT_HUB_TIMEOUT must be a positive number"):
            hub_timeout()
    finally:
        del os.environ["EMOTIONKIT_HUB_TIMEOUT"]
    assert hub_timeout(3) == 3.0
