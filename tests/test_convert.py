"""Converter: export graph equivalence, int8 size, builtin ops only, verification, sidecar."""
import json
import subprocess
import sys

import numpy as np
import pytest

from convert.tflite import ConversionError


@pytest.fixture(scope="module")
def converted(smoke_run, tmp_path_factory, cache_root):
    from convert.converter import convert_run

    run_dir, _ = smoke_run
    out = tmp_path_factory.mktemp("tflite")
    # A 3-epoch smoke model has near-uniform scores, so int8 vs Keras top-1 agreement is not
    # meaningful here; the 97 % gate is exercised on the shipped model and by the failure test below.
    sidecar = convert_run(run_dir, out, n_representative=32, cache_root=cache_root, min_agreement=0.0,
                          log=lambda *a: None)
    return out, sidecar


def test_export_graph_equals_keras_on_a_fresh_model():
    from convert.export import build_export_function, input_normalisation
    from train.hparams import ModelConfig
    from train.model import build_model

    rng = np.random.default_rng(0)
    model = build_model(200, 40, 8, ModelConfig(), rng.normal(size=40),
                        rng.uniform(50, 500, size=40))
    fn = build_export_function(model)
    mean, std = input_normalisation(model)
    for _ in range(3):
        x = (rng.normal(size=(1, 200, 40)) * 30).astype(np.float32)
        np.testing.assert_allclose(fn((x - mean) / std).numpy(), model(x, training=False).numpy(), atol=1e-6)


def test_an_ensemble_exports_as_the_mean_of_its_members_and_quantises_fully():
    from convert.export import build_export_function, input_normalisation
    from convert.tflite import audit, convert
    from train.hparams import ModelConfig
    from train.model import build_model, ensemble_model

    rng = np.random.default_rng(1)
    mean, var = rng.normal(size=40), rng.uniform(50, 500, size=40)
    cfg = ModelConfig(conv_filters=(32, 32), gru_units=32)
    members = [build_model(200, 40, 8, cfg, mean, var, name=f"m{k}") for k in range(2)]
    for member in members:   # trained GRUs have non-zero biases; all-zero ones let the converter drop a gate
        gru = member.get_layer("gru")
        kernel, recurrent, bias = gru.get_weights()
        gru.set_weights([kernel, recurrent, rng.normal(0, 0.1, bias.shape)])
    model = ensemble_model(members)
    fn = build_export_function(model)
    mu, std = input_normalisation(model)
    xs = [(rng.normal(size=(1, 200, 40)) * 30).astype(np.float32) for _ in range(8)]
    for x in xs[:2]:
        np.testing.assert_allclose(fn((x - mu) / std).numpy(), model(x, training=False).numpy(), atol=1e-6)
    flat = convert(fn, "int8", lambda: ([((x - mu) / std).astype(np.float32)] for x in xs))
    assert set(audit(flat, full_integer=True)["tensor_types"]) <= {"int8", "int32"}


def test_files_sizes_and_ops(converted):
    out, sidecar = converted
    f32, i8 = out / "model_float32.tflite", out / "model_int8.tflite"
    assert f32.stat().st_size > 0 and i8.stat().st_size <= f32.stat().st_size / 3
    int8 = sidecar["files"]["int8"]
    assert set(int8["audit"]["tensor_types"]) <= {"int8", "int32"}
    assert int8["input"]["dtype"] == "int8" and int8["output"]["dtype"] == "int8"
    assert int8["input"]["shape"] == [1, 200, 40] and int8["input"]["scale"] > 0
    for variant in ("float32", "int8"):
        ops = sidecar["files"][variant]["audit"]["ops"]
        assert "FULLY_CONNECTED" in ops and not any(op.startswith("Flex") for op in ops)
        listing = (out / f"ops_{variant}.txt").read_text()
        assert "FULLY_CONNECTED" in listing and "Flex" not in listing


def test_verification_and_sidecar(converted, smoke_run):
    out, sidecar = converted
    run_dir, result = smoke_run
    on_disk = json.loads((out / "model.json").read_text())
    assert on_disk["labels"] == ["neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised"]
    assert on_disk["members"] == 1   # the smoke run trains one model
    assert on_disk["training"]["kept"] == result.extra["kept"] == "mean of epochs 1-3"
    assert on_disk["feature_config"] == json.loads((run_dir / "feature_config.json").read_text())
    norm = on_disk["input_normalisation"]
    assert len(norm["mean"]) == len(norm["std"]) == 40 and min(norm["std"]) > 0
    v = on_disk["verification"]
    assert v["keras_accuracy"] == pytest.approx(result.test_accuracy)
    assert v["float32"]["agreement"] == 1.0 and v["float32"]["max_abs_diff"] < 1e-4
    assert v["int8"]["max_abs_diff"] < 0.25  # a broken quantisation is off by ~1
    assert "tflite int8" in (out / "verification.txt").read_text()


def test_low_int8_agreement_fails_loudly(smoke_run, tmp_path, cache_root):
    from convert.converter import convert_run

    run_dir, _ = smoke_run
    with pytest.raises(ConversionError, match="agrees with Keras on only"):
        convert_run(run_dir, tmp_path, variants=["int8"], n_representative=8, cache_root=cache_root,
                    min_agreement=1.01, log=lambda *a: None)
    assert (tmp_path / "model_int8.tflite").is_file()  # kept for inspection


def test_cli_without_model_is_one_line(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "convert", str(tmp_path)], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2 and proc.stderr.startswith("error: no trained model")
    assert len(proc.stderr.strip().splitlines()) == 1
