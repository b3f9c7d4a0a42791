"""REPORT.md, results.json and the PNG plots of a benchmark run."""
from __future__ import annotations

import json
from pathlib import Path


def _grouped_bars(path: Path, ticks: list[str], series: dict[str, list[float]], ylabel: str, title: str = "",
                  figsize: tuple = (9, 4), tick_fontsize: float = 8, ylim: tuple | None = None,
                  legend_outside: bool = False) -> Path:
    """One bar group per tick, one bar per series; saved as PNG."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=figsize)
    width = 0.8 / len(series)
    for i, (label, values) in enumerate(series.items()):
        ax.bar([k + i * width for k in range(len(ticks))], values, width, label=label)
    ax.set_xticks([k + width * (len(series) - 1) / 2 for k in range(len(ticks))], ticks, fontsize=tick_fontsize)
    if ylim:
        ax.set_ylim(*ylim)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    if legend_outside:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9)
    else:
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _plot_latency(latency: list[dict], path: Path) -> Path:
    median = {(r["runtime"], r["model"], r["threads"]): r["median_ms"] for r in latency}
    groups = sorted({(rt, m) for rt, m, _ in median})
    threads = sorted({t for _, _, t in median})
    series = {f"{t} thread{'s' * (t > 1)}": [median.get((rt, m, t), 0.0) for rt, m in groups] for t in threads}
    return _grouped_bars(path, [f"{rt}\n{m}" for rt, m in groups], series, "median ms per inference (batch 1)",
                         "Inference latency")


def _plot_accuracy(accuracy: dict, path: Path) -> Path:
    names = list(next(iter(accuracy.values()))["rows"])
    series = {f"{split} split ({res['n_test']} clips)": [res["rows"][n]["accuracy"] for n in names]
              for split, res in accuracy.items()}
    return _grouped_bars(path, names, series, "test accuracy", figsize=(7, 4), tick_fontsize=10, ylim=(0, 1))


def _plot_robustness(robustness: dict, path: Path) -> Path:
    names = list(next(iter(robustness.values()))["rows"])
    series = {f"{split} split ({r['n_clips']} clips)": [r["rows"][n]["accuracy"] for n in names]
              for split, r in robustness.items()}
    return _grouped_bars(path, [n.replace(" ", "\n", 1) for n in names], series, "int8 accuracy",
                         "Accuracy under simulated microphones and rooms", ylim=(0, 1))


def _adaptation_corpora(rows: dict) -> list[str]:
    """The corpora of an adaptation result, ``all`` last."""
    return [c for c in next(iter(rows.values()))["companion"] if c != "all"] + ["all"]


def _plot_adaptation(adaptation: dict, path: Path) -> Path:
    rows = adaptation["rows"]
    corpora = _adaptation_corpora(rows)
    series = {"int8, default model alone\n(all clips)": [rows["int8, enrolment all"]["default"][c] for c in corpora]}
    for setting, r in rows.items():
        if setting.startswith("int8") and "pair" in r:
            series[f"int8 pair, {setting.split(', ')[1]}"] = [r["pair"][c] for c in corpora]
    return _grouped_bars(path, corpora, series, "accuracy on unseen speakers", figsize=(10, 4), tick_fontsize=10,
                         ylim=(0, 1), legend_outside=True)


def adaptation_lines(ad: dict) -> list[str]:
    """The report's speaker-adaptation section (``benchmarks/adaptation.py``)."""
    corpora = _adaptation_corpora(ad["rows"])
    lines = ["", "## Speaker adaptation: the default model joined by the speaker-normalised one (benchmarks/adaptation.py)",
             "", f"Held-out speakers of `runs/{Path(ad['run']).name}` ({ad['n_test']} clips; the default model converted "
             f"from that run, the companion from `runs/{Path(ad.get('companion_run', '?')).name}`, the same recipes as "
             "the shipped pair). Enrolment `all`: each speaker's statistics "
             "from all of their test clips (as `classify --same-speaker`); `10`: from 10 random clips of theirs, which "
             f"are then not scored ({ad['draws']} draws averaged; every row of a setting scores the same clips). The "
             f"pair averages the scores, the companion's with weight {ad['weight']:.3f}; the runtime lets the "
             f"companion join after {ad['enrol_windows']} speech windows.", "",
             "| variant, enrolment | model | " + " | ".join(corpora) + " |", "|---|---|" + "---|" * len(corpora)]
    for setting, r in ad["rows"].items():
        for model, acc in r.items():
            lines.append(f"| {setting} | {model} | " + " | ".join(f"{acc[c]:.3f}" for c in corpora) + " |")
    lines += ["", "![adaptation](adaptation.png)"]
    if "conditions" in ad:
        cond = ad["conditions"]
        lines += ["", f"Under simulated microphones and rooms (the conditions of the robustness section; int8; the "
                      f"speaker heard through the same condition, enrolment {cond['enrolment']}"
                      + (f", {ad['draws']} draws" if cond["enrolment"] != "all" else "")
                      + f"; {cond['n_clips']} clips, all corpora):", "",
                  "| condition | imitates | default alone | companion | pair | pair - default (pp) |",
                  "|---|---|---|---|---|---|"]
        for name, r in cond["rows"].items():
            lines.append(f"| {name} | {r['imitates']} | {r['default']:.3f} | {r['companion']:.3f} | {r['pair']:.3f} | "
                         f"{100 * (r['pair'] - r['default']):+.1f} |")
    return lines


def _upload_memory_section(um: dict) -> list[str]:
    """The web server's memory under 10 long uploads at once and under the decoded-size bomb, per checkout."""
    lines = ["## Web server memory: long uploads and a decoded-size bomb (benchmarks/upload_memory.py)", "",
             f"One Streamlit server (`python -m webapp`) per checkout; the sessions upload at once and the server's "
             f"RSS is sampled every 0.2 s. The long file is {um['files']['long_mb']:.0f} MB of 48 kHz WAV (9.5 "
             f"minutes); the bomb {um['files']['bomb_mb']:.1f} MB of FLAC (3.5 s of speech, then 580 s of silence "
             f"at 655,350 Hz). *held*: with every session still open after its answer; *after close*: 20 s after "
             f"the browsers closed.", "",
             "| checkout | case | answered | RSS before MB | peak MB | held MB | after close MB |",
             "|---|---|---|---|---|---|---|"]
    for label in ("before", "after"):
        if label not in um:
            continue
        for case, r in ((k, v) for k, v in um[label].items() if isinstance(v, dict)):
            lines.append(f"| {label}: {um[label]['checkout']} | {case} | {r['answered']}/{r['sessions']} | "
                         f"{r['before_mb']:.0f} | {r['peak_mb']:.0f} | {r['held_mb']:.0f} | {r['after_close_mb']:.0f} |")
    return lines + [""]


def timestamp() -> str:
    """Now, as a report dates its run and each section (``2026-12-07 04:22 UTC``)."""
    import time

    return time.strftime("%Y-%m-%d %H:%M %Z")


def update_results(out: Path, sections: dict) -> Path:
    """Put freshly measured ``sections`` (results.json keys) into ``out/results.json``, dated now, and write the
    report again; return its path (a command that measures one section: calibration, upload memory)."""
    results = json.loads((out / "results.json").read_text())
    results.update(sections)
    results.setdefault("measured", {}).update(dict.fromkeys(sections, timestamp()))
    return write_report(results, out)


def measured_line(results: dict) -> list[str]:
    """A line naming the sections measured on another day than the run's (``--only`` runs, separate commands)."""
    date = results["date"]
    other = {k: d for k, d in results.get("measured", {}).items() if d[:10] != date[:10]}
    if not other:
        return []
    days: dict[str, list[str]] = {}
    for key, d in sorted(other.items(), key=lambda kv: kv[1]):
        days.setdefault(d[:10], []).append(f"`{key}`")
    return ["Measured on other days, maybe on another machine (the rest on this day and machine): " +
            "; ".join(f"{day}: {', '.join(keys)}" for day, keys in days.items()) + ".", ""]


def write_report(results: dict, out: Path) -> Path:
    """Write ``results.json``, the plots and ``REPORT.md`` into ``out``; return the report's path."""
    import numpy as np

    from train.report import plot_confusion

    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    _plot_latency(results["latency"], out / "latency.png")
    _plot_accuracy(results["accuracy"], out / "accuracy.png")
    for split, res in results["accuracy"].items():
        for name in ("tflite float32", "tflite int8"):
            plot_confusion(np.array(res["rows"][name]["confusion"]), res["labels"],
                           out / f"confusion_{split}_{name.split()[1]}.png", f"{name}, {split} split")
    m = results["machine"]
    lines = [f"# Benchmark report{' (quick mode: few clips, few runs)' if results['quick'] else ''}", "",
             f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory']}, {m['system']} ({m['machine']}); "
             f"Python {m['python']}, numpy {m['numpy']}, ai-edge-litert {m['ai-edge-litert']}, "
             f"tflite-runtime {results.get('tflite_runtime_version', '?')} (numpy<2 venv), tensorflow "
             f"{m['tensorflow']}, keras {m['keras']}, librosa {m['librosa']}. {results['date']}.", "",
             *measured_line(results),
             "Reproduce: `python -m benchmarks` (full), `python -m benchmarks --only SECTION ...` (some sections "
             "again, e.g. after a retrain) or `python -m benchmarks --quick`.", "",
             "## Accuracy (batch 1, held-out test clips)", "",
             "| split | model | accuracy | drop vs Keras (pp) | top-1 agreement with Keras |", "|---|---|---|---|---|"]
    for split, res in results["accuracy"].items():
        for name, r in res["rows"].items():
            lines.append(f"| {split} ({res['n_test']} clips) | {name} | {r['accuracy']:.4f} | {r['drop_pp']:+.2f} | "
                         f"{r['agreement']:.1%} |")
    for split, res in results["accuracy"].items():
        lines += ["", f"Per corpus, {split} split (accuracy; UAR = mean recall over the corpus's classes; int8 drop "
                      "is float32 minus int8 in points):", "",
                  "| corpus | clips | chance | Keras | TFLite float32 | TFLite int8 | int8 drop (pp) | int8 UAR |",
                  "|---|---|---|---|---|---|---|---|"]
        for corpus, r in res["per_corpus"].items():
            f32, i8 = r["tflite float32"]["accuracy"], r["tflite int8"]["accuracy"]
            lines.append(f"| {corpus} | {r['n']} | {r['chance']:.3f} | {r['keras float32']['accuracy']:.3f} | "
                         f"{f32:.3f} | {i8:.3f} | {100 * (f32 - i8):+.2f} | {r['tflite int8']['uar']:.3f} |")
    if results.get("corpus"):
        lines += ["", "## Leave one corpus out (protocol `corpus`, Keras float)", "",
                  "Each run trains on the other corpora without the left-out corpus's speakers (leaving out RAVDESS "
                  "speech also leaves out their song, which is then tested too) and is tested on every clip of the "
                  "left-out one.", "",
                  "| left out | trained on | test corpus | clips | accuracy | UAR | chance (UAR) | majority class |",
                  "|---|---|---|---|---|---|---|---|"]
        for left_out, r in results["corpus"].items():
            for corpus, t in r["test"].items():
                lines.append(f"| {left_out} | {', '.join(r['trained_on'])} | {corpus} | {t['n']} | "
                             f"{t['accuracy']:.3f} | {t['uar']:.3f} | {t['chance']:.3f} | {t['majority']:.3f} |")
                plot_confusion(np.array(t["confusion"]), next(iter(results["accuracy"].values()))["labels"],
                               out / f"confusion_corpus_{corpus}.png",
                               f"{corpus} left out: accuracy {t['accuracy']:.3f}, UAR {t['uar']:.3f}")
        lines += [""] + [f"![{c} left out](confusion_corpus_{c}.png)" for r in results["corpus"].values()
                         for c in r["test"]]
    lines += ["", "Per-class F1 of the int8 model:", "", "| split | " + " | ".join(
        next(iter(results["accuracy"].values()))["labels"]) + " |",
        "|---|" + "---|" * len(next(iter(results["accuracy"].values()))["labels"])]
    for split, res in results["accuracy"].items():
        f1 = res["rows"]["tflite int8"]["per_class_f1"]
        lines.append(f"| {split} | " + " | ".join(f"{f1[k]:.2f}" for k in res["labels"]) + " |")
    if "robustness" in results:
        rb = results["robustness"]
        _plot_robustness(rb, out / "robustness.png")
        splits = " | ".join(f"{split} split ({r['n_clips']} clips): accuracy | drop (pp)" for split, r in rb.items())
        lines += ["", "## Robustness: int8 models under simulated microphones and rooms (benchmarks/robustness.py)",
                  "", "The speaker run's int8 model on its unseen speakers of every corpus (quick mode: the shipped "
                  "model on a few clips).",
                  "", f"| condition | imitates | {splits} |", "|---|---|" + "---|---|" * len(rb)]
        for name, first in next(iter(rb.values()))["rows"].items():
            cells = " | ".join(f"{r['rows'][name]['accuracy']:.3f} | {r['rows'][name]['drop_pp']:+.1f}"
                               for r in rb.values())
            lines.append(f"| {name} | {first['imitates']} | {cells} |")
        lines += ["", "![robustness](robustness.png)"]
    if "adaptation" in results:
        _plot_adaptation(results["adaptation"], out / "adaptation.png")
        lines += adaptation_lines(results["adaptation"])
    lines += ["", "## Size on disk", "", "| model | KB | ratio to float32 |", "|---|---|---|"]
    sizes = results["sizes_kb"]
    for name, kb in sizes.items():
        lines.append(f"| {name} | {kb:.1f} | {kb / sizes['float32']:.3f} |")
    lines += ["", f"## Latency per inference (batch 1, median and p95 of {results['latency'][0]['runs']} runs)", "",
              "| runtime | model | threads | median ms | p95 ms |", "|---|---|---|---|---|"]
    for r in results["latency"]:
        lines.append(f"| {r['runtime']} | {r['model']} | {r['threads']} | {r['median_ms']:.3f} | {r['p95_ms']:.3f} |")
    lines += ["", "int8 / float32 speed (float32 median ms / int8 median ms; above 1 means int8 is faster):", "",
              "| runtime | threads | speed-up of int8 |", "|---|---|---|"]
    for row in results["int8_speedup"]:
        lines.append(f"| {row['runtime']} | {row['threads']} | {row['speedup']:.2f}x |")
    e = results["end_to_end"]
    lines += ["", f"## End to end, per {e['audio_seconds']:g} s of {e['capture_rate']} Hz audio "
              f"({e['model']} model, 1 thread, median of {e['repeats']})", "",
              "| stage | ms |", "|---|---|"]
    for stage, ms in e["stages_ms"].items():
        lines.append(f"| {stage} | {ms:.2f} |")
    lines += [f"| **total** | **{e['total_ms']:.2f}** |", "",
              f"Real-time factor: {e['real_time_factor']:.4f} ({1 / e['real_time_factor']:.0f}x faster than "
              "real time).", ""]
    if "resample" in results:
        rs = results["resample"]
        lines += [f"## Resampling {rs['seconds']:g} s of audio to 16 kHz (soxr HQ, median ms)", "",
                  "| from Hz | whole array | streamed in 0.1 s chunks | max difference |", "|---|---|---|---|"]
        for rate, r in rs["rows"].items():
            lines.append(f"| {rate} | {r['whole_ms']:.2f} | {r['streamed_ms']:.2f} | {r['max_abs_diff']:.1e} |")
        lines.append("")
    if "segments" in results:
        lines += ["## Long recordings: `classify --segments` (one process per file, streamed in blocks)", "",
                  "| recording | wall time s | real-time factor | peak RSS MB | segments |", "|---|---|---|---|---|"]
        for seconds, r in results["segments"]["rows"].items():
            length = f"{float(seconds):g} s" if float(seconds) < 60 else f"{float(seconds) / 60:g} min"
            lines.append(f"| {length} | {r['wall_s']:.1f} | {r['real_time_factor']:.4f} | "
                         f"{r['peak_rss_mb']:.0f} | {r['segments']} |")
        lines.append("")
    if "speech_check" in results:
        sc = results["speech_check"]
        lines += ["## Speech check (edge_runtime.speech)", "", "| corpus | clips | refused | share |", "|---|---|---|---|"]
        for corpus, r in sc["real"].items():
            lines.append(f"| {corpus} | {r['clips']} | {r['refused']} | {r['refused'] / max(r['clips'], 1):.2%} |")
        refused = [n for n, why in sc["synthetic"].items() if why]
        lines += ["", f"Synthetic non-speech: {len(refused)} of {len(sc['synthetic'])} refused"
                  + (f"; accepted: {', '.join(sc['synthetic_accepted'])}" if sc["synthetic_accepted"] else "")
                  + ".", ""]
        lines += ["| signal | answer |", "|---|---|"] + [f"| {n} | {why or 'speech (accepted)'} |"
                                                         for n, why in sc["synthetic"].items()] + [""]
    if "shared_classifier" in results:
        sh, so = results["shared_classifier"], results["soak"]
        rss = so["rss_mb"]
        lines += ["## One classifier shared by threads; the web app's work under load", "",
                  f"{sh['threads']} threads x {sh['calls'] // sh['threads']} calls on one `EmotionClassifier`: "
                  f"{sh['different_from_serial']} answers differ from the serial ones, {sh['errors']} errors; "
                  f"{sh['threaded_per_s']:.0f} clips/s threaded vs {sh['serial_per_s']:.0f} serial.", "",
                  f"{so['uploads']} uploads by {so['sessions']} threads at once (decode, classify, three figures "
                  f"rendered to PNG, as a page visit does; `benchmarks/soak.py`): RSS "
                  + ", ".join(f"{mb:.0f} MB after {k}" for k, mb in rss[:: max(1, len(rss) // 6)])
                  + f"; peak {so['peak_mb']:.0f} MB, growth after the first batch {so['growth_after_warmup_mb']:+.1f} MB.",
                  ""]
        if "server_soak" in results:
            sv = results["server_soak"]
            lines += [f"The real page: {sv['uploads']} uploads by {sv['sessions']} Chromium sessions to one Streamlit "
                      f"server (real clips, and one at 44,101 and 22,050 Hz), server RSS "
                      + ", ".join(f"{mb:.0f} MB after {k}" for k, mb in sv["rss_mb"][::2])
                      + f"; peak {sv['peak_mb']:.0f} MB, growth after the first 10 {sv['growth_after_warmup_mb']:+.1f} MB.",
                      ""]
    if "upload_memory" in results:
        lines += _upload_memory_section(results["upload_memory"])
    if "utterances" in results:
        from .utterances import report_lines
        lines += report_lines(results["utterances"])
    if "calibration" in results:
        from .calibration import plot
        from .calibration import report_lines as calibration_lines
        plot(results["calibration"], out / "calibration.png")
        lines += calibration_lines(results["calibration"])
    mv = results["mfcc"]
    lines += ["## Edge MFCC vs librosa MFCC (same prepared windows)", "",
              f"{mv['clips']} clips: edge numpy {mv['edge_ms']:.2f} ms, librosa {mv['librosa_ms']:.2f} ms per "
              f"window (medians): the edge extractor is **{mv['speedup']:.1f}x** faster; max |difference| "
              f"{mv['max_abs_diff']:.2e}."
              + (f" Pitch and voicing (models with `features.prosody`) add {mv['prosody_ms']:.2f} ms per window."
                 if "prosody_ms" in mv else ""), "", "## Peak memory of a process that loads the model and classifies "
              "one clip", "", "| process | peak RSS MB | label |", "|---|---|---|"]
    for name, r in results["memory"].items():
        lines.append(f"| {name} | {r['peak_rss_mb']:.0f} | {r['label']} |")
    lines += ["", "![latency](latency.png) ![accuracy](accuracy.png)", ""]
    for split in results["accuracy"]:
        lines.append(f"![float32 {split}](confusion_{split}_float32.png) ![int8 {split}](confusion_{split}_int8.png)")
    path = out / "REPORT.md"
    path.write_text("\n".join(lines) + "\n")
    return path
