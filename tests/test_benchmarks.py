"""``python -m benchmarks --quick`` (what CI runs): every section of the report is filled."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_quick_benchmark_writes_a_complete_report(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())
    report = (tmp_path / "REPORT.md").read_text()
    for heading in ("## Accuracy", "## Leave one corpus out", "## Robustness", "## Size on disk", "## Latency",
                    "## End to end", "## Resampling", "## Long recordings", "## Speech check", "## One classifier shared",
                    "## Edge MFCC vs librosa", "## Peak memory", "## Speaker adaptation", "## Emotion per utterance"):
        assert heading in report
    smoke = results["utterances"]["smoke"]
    assert smoke["clips"] >= 8 and smoke["blocks"]["utterances"]["segments_per_utterance"] >= 1.0
    for png in ("latency.png", "accuracy.png", "robustness.png", "adaptation.png", "confusion_smoke_float32.png",
                "confusion_smoke_int8.png", "confusion_corpus_crema-d.png"):
        assert (tmp_path / png).stat().st_size > 10_000
    rows = results["accuracy"]["smoke"]["rows"]
    assert set(results["accuracy"]["smoke"]["per_corpus"]) >= {"ravdess", "crema-d", "all"}
    assert set(rows) == {"keras float32", "tflite float32", "tflite int8"}
    assert rows["tflite float32"]["agreement"] == 1.0
    cells = {(r["runtime"], r["model"], r["threads"]) for r in results["latency"]}
    assert len(cells) == 12 and all(r["median_ms"] > 0 and r["p95_ms"] >= r["median_ms"] for r in results["latency"])
    assert results["sizes_kb"]["int8"] <= results["sizes_kb"]["float32"] / 3
    assert results["mfcc"]["max_abs_diff"] < 0.01
    robust = results["robustness"]["smoke"]["rows"]
    assert robust["clean"]["accuracy"] == rows["tflite int8"]["accuracy"]   # same clips, same model
    assert set(robust) >= {"telephone", "noise 20 dB", "room"} and all(0 <= r["accuracy"] <= 1 for r in robust.values())
    adapt = results["adaptation"]["rows"]
    assert set(adapt) == {"int8, enrolment all", "int8, no enrolment"}
    assert set(adapt["int8, enrolment all"]) == {"default", "companion", "pair"}
    assert adapt["int8, enrolment all"]["default"]["all"] == rows["tflite int8"]["accuracy"]   # same clips, same model
    conditions = results["adaptation"]["conditions"]["rows"]
    assert conditions["clean"]["pair"] == adapt["int8, enrolment all"]["pair"]["all"]          # same plan, same clips
    assert set(conditions) == set(robust) and all(0 <= r["pair"] <= 1 for r in conditions.values())
    assert set(results["end_to_end"]["stages_ms"]) == {"decode", "resample", "mfcc", "inference"}
    assert results["shared_classifier"]["different_from_serial"] == results["shared_classifier"]["errors"] == 0
    assert not results["speech_check"]["synthetic_accepted"]
    assert set(results["resample"]["rows"]) >= {"44100", "48000", "192001"}
    lengths = results["segments"]["rows"]
    assert all(r["rc"] == 0 and r["segments"] > 0 for r in lengths.values())
    assert lengths["60"]["peak_rss_mb"] < 1.5 * lengths["10"]["peak_rss_mb"]     # streamed: flat in the length
    memory = results["memory"]
    assert len({m["label"] for m in memory.values()}) == 1  # every process gives the same answer
    assert results["machine"]["cores"] >= 1 and results["machine"]["cpu"]


def test_only_measures_the_named_sections_and_keeps_the_rest(tmp_path):
    earlier = json.loads((ROOT / "benchmarks" / "results" / "results.json").read_text())
    (tmp_path / "results.json").write_text(json.dumps(earlier))
    proc = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--only", "latency", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 2 and "is a full report: --only must measure the same way" in proc.stderr
    earlier["quick"] = True         # a quick report: quick sections may replace its own
    earlier["measured"] = {k: "2026-01-01 00:00 UTC" for k in earlier["measured"]}
    (tmp_path / "results.json").write_text(json.dumps(earlier))
    proc = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--only", "latency", "--runs", "3",
                           "--no-tflite-runtime", "--out", str(tmp_path)], capture_output=True, text=True,
                          timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())
    assert {(r["runtime"], r["runs"]) for r in results["latency"]} == {("ai_edge_litert", 3), ("tensorflow", 3)}
    for key in ("accuracy", "robustness", "upload_memory", "speech_check"):
        assert results[key] == earlier[key] and results["measured"][key] == earlier["measured"][key]
    assert results["measured"]["latency"] == results["date"] != earlier["measured"]["latency"]
    report = (tmp_path / "REPORT.md").read_text()
    assert "Measured on other days" in report and "`robustness`" in report.split("## Accuracy")[0]


def test_only_needs_an_earlier_report(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "benchmarks", "--only", "latency", "--out", str(tmp_path / "new")],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "--only keeps the other sections" in proc.stderr


def test_calibration_is_not_written_into_a_card_of_another_ensemble_size(tmp_path):
    run_members = json.loads((ROOT / "runs" / "speaker" / "run_config.json").read_text())["train"]["members"]
    card = {**json.loads((ROOT / "edge_runtime" / "models" / "model.json").read_text()), "members": run_members + 1}
    (tmp_path / "model.json").write_text(json.dumps(card))
    proc = subprocess.run([sys.executable, "-m", "benchmarks.calibration", "--write-card", str(tmp_path / "model.json")],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "a temperature fitted on one" in proc.stderr
    assert json.loads((tmp_path / "model.json").read_text()) == card
