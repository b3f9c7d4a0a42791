"""The web server's memory under long uploads and a decoded-size bomb, for this checkout and an older one.

``python -m benchmarks.upload_memory --before ../old-checkout`` serves the page from each checkout in turn
(``python -m webapp``), has 10 Chromium sessions upload a 9.5-minute recording at once, then 3 sessions upload
a "bomb" (1.7 MB of FLAC: 3.5 s of speech, then 580 s of silence at 655,350 Hz, 1.5 GB once decoded at its
own rate), and samples the server's resident memory every 0.2 s. The figures go into
``benchmarks/results/results.json`` (key ``upload_memory``) and the report is written again from it.
Needs Playwright and ``/usr/bin/chromium``.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"

_DRIVER = r"""
import json, sys, threading, time
from playwright.sync_api import sync_playwright
from benchmarks.soak import chromium, rss_mb as pid_rss_mb, serve

root, port, cases = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
server, url = serve(port, cwd=root, tries=240)      # the page of that checkout, measured by this one
rss_mb = lambda: pid_rss_mb(server.pid)

peak = [0.0]
stop = threading.Event()
def sample():
    while not stop.is_set():
        peak[0] = max(peak[0], rss_mb())
        time.sleep(0.2)

out = {}
try:
    threading.Thread(target=sample, daemon=True).start()
    with sync_playwright() as pw:
        browser = chromium(pw)
        for name, path, sessions in cases:
            start = rss_mb()
            peak[0] = start
            contexts = [browser.new_context() for _ in range(sessions)]
            pages = [c.new_page() for c in contexts]
            for page in pages:
                page.goto(url)
                page.locator('[data-testid="stFileUploaderDropzoneInput"]').wait_for(state="attached", timeout=120_000)
            t0 = time.time()
            for page in pages:    # all at once: the uploads overlap on the server
                page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(path)
            answered = 0
            for page in pages:
                try:
                    page.locator('[data-testid="stMetric"], [data-testid="stAlert"]').first.wait_for(timeout=600_000)
                    answered += 1
                except Exception:
                    pass
            held = rss_mb()
            for c in contexts:
                c.close()
            time.sleep(20)
            out[name] = {"sessions": sessions, "answered": answered, "seconds": round(time.time() - t0, 1),
                         "before_mb": round(start, 1), "peak_mb": round(peak[0], 1),
                         "held_mb": round(held, 1), "after_close_mb": round(rss_mb(), 1)}
        browser.close()
    print(json.dumps(out))
finally:
    stop.set()
    server.terminate()
"""


def make_inputs(folder: Path, clips: Sequence[Path]) -> tuple[Path, Path]:
    """A 9.5-minute 48 kHz mono WAV of ``clips`` with pauses, and the 655,350 Hz FLAC bomb."""
    import soundfile as sf

    from edge_runtime.audio import load_audio
    from edge_runtime.resample import resample

    speech = [load_audio(c, 48000) for c in clips]
    pause = np.zeros(48000, np.float32)
    pieces, n, k = [], 0, 0
    while n < 570 * 48000:
        piece = np.concatenate([speech[k % len(speech)], pause])
        pieces.append(piece)
        n += len(piece)
        k += 1
    long_wav = folder / "long-9.5min.wav"
    sf.write(long_wav, np.concatenate(pieces)[:570 * 48000], 48000, subtype="PCM_16")
    rate = 655350
    bomb = folder / "bomb-655khz.flac"
    with sf.SoundFile(bomb, "w", rate, 1, subtype="PCM_16") as f:
        f.write(resample(speech[0][: int(3.5 * 48000)], 48000, rate))
        for _ in range(580):
            f.write(np.zeros(rate, np.float32))
    return long_wav, bomb


def upload_memory(roots: dict, clips: Sequence[Path], port: int = 8791) -> dict:
    """``{label: {case: figures}}`` for each checkout in ``roots`` (``{"before": path, "after": path}``)."""
    with tempfile.TemporaryDirectory() as tmp:
        long_wav, bomb = make_inputs(Path(tmp), clips)
        cases = [["10 sessions, 9.5-min WAV each", str(long_wav), 10], ["3 sessions, the 655 kHz bomb", str(bomb), 3]]
        out = {"files": {"long_mb": round(long_wav.stat().st_size / 2**20, 1),
                         "bomb_mb": round(bomb.stat().st_size / 2**20, 2)}}
        for label, root in roots.items():
            proc = subprocess.run([sys.executable, "-c", _DRIVER, str(root), str(port), json.dumps(cases)],
                                  capture_output=True, text=True, timeout=3600, cwd=ROOT)
            if proc.returncode != 0:
                raise RuntimeError(f"upload memory ({label}) failed: {proc.stderr.strip().splitlines()[-1:]}")
            out[label] = json.loads(proc.stdout.strip().splitlines()[-1])
            out[label]["checkout"] = _describe(Path(root))
    return out


def _describe(root: Path) -> str:
    proc = subprocess.run(["git", "-C", str(root), "log", "-1", "--format=%h %s"], capture_output=True, text=True)
    return proc.stdout.strip()[:80] or str(root)


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.upload_memory", description=__doc__)
    p.add_argument("--before", type=Path, default=None,
                   help="an older checkout to measure beside this one (default: keep the report's earlier figures)")
    p.add_argument("--out", type=Path, default=RESULTS, help="report folder holding results.json")
    args = p.parse_args(argv)
    if not Path("/usr/bin/chromium").exists():
        print("error: needs /usr/bin/chromium and Playwright", file=sys.stderr)
        return 2
    from train.corpora import shared_data_dir

    clips = sorted((shared_data_dir() / "ravdess").glob("Actor_0[1-2]/*.flac"))[:40]
    roots = {**({"before": args.before} if args.before else {}), "after": ROOT}
    figures = upload_memory(roots, clips)
    earlier = json.loads((args.out / "results.json").read_text()).get("upload_memory", {})
    from .report import update_results

    report = update_results(args.out, {"upload_memory": {**earlier, **figures}})   # an earlier "before" stays
    print(report.read_text().split("## Web server memory", 1)[-1][:3000])
    return 0


if __name__ == "__main__":
    sys.exit(main())
