"""The web app's work under load, without a browser: memory over hundreds of uploads, one classifier shared.

Streamlit runs each page visit's script in a thread of its own and shares the
one cached :class:`EmotionClassifier` between them. :func:`soak` does what a
visit does for an upload (decode, classify, draw the three figures into PNGs
as ``st.pyplot`` does) from several threads at once, many times over, in a
fresh process, and samples its resident memory; :func:`shared_classifier`
checks that concurrent calls on one instance give exactly the serial answers.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Sequence

ROOT = Path(__file__).resolve().parents[1]

_SOAK = """
import io, json, sys, threading
from concurrent.futures import ThreadPoolExecutor
import matplotlib.pyplot as plt
from edge_runtime import EmotionClassifier
from webapp.analysis import analyse
from webapp.plots import mfcc_figure, scores_figure, waveform_figure

def rss_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024

paths, uploads, sessions, every = json.loads(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
blobs = [(open(p, "rb").read(), p.rsplit("/", 1)[-1]) for p in paths]
clf = EmotionClassifier()

def visit(i):
    data, name = blobs[i % len(blobs)]
    result = analyse(data, name, clf)
    cfg = clf.config
    for fig in (scores_figure(result.prediction.scores), waveform_figure(result.audio, result.sample_rate),
                mfcc_figure(result.mfcc, cfg.hop_length / cfg.sample_rate)):
        fig.savefig(io.BytesIO(), format="png")
        plt.close(fig)
    return result.prediction.label

samples = [(0, rss_mb())]
done = 0
while done < uploads:
    n = min(every, uploads - done)
    with ThreadPoolExecutor(sessions) as pool:     # fresh threads for every batch, like new script runs
        list(pool.map(visit, range(done, done + n)))
    done += n
    samples.append((done, rss_mb()))
print(json.dumps({"uploads": uploads, "sessions": sessions, "rss_mb": samples}))
"""


def soak(clips: Sequence[Path], uploads: int = 300, sessions: int = 4, every: int = 25,
         env: dict | None = None) -> dict:
    """RSS (MB) of a fresh process after every ``every`` uploads of ``clips`` by ``sessions`` threads at once.

    ``growth_after_warmup_mb`` is the last sample minus the one after the first ``every`` uploads.
    """
    proc = subprocess.run([sys.executable, "-c", _SOAK, json.dumps([str(c) for c in clips]), str(uploads),
                           str(sessions), str(every)], capture_output=True, text=True, timeout=1800, cwd=ROOT,
                          env={**os.environ, **(env or {})})
    return _rss_summary(proc, "soak")


def shared_classifier(clips: Sequence[Path], threads: int = 4, calls: int = 50) -> dict:
    """``threads`` x ``calls`` predictions on one :class:`EmotionClassifier`: how many differ from the serial
    answer (must be 0), how many raised, and the throughput against one thread."""
    import threading
    import time

    from edge_runtime import EmotionClassifier
    from edge_runtime.audio import read_audio

    clf = EmotionClassifier()
    audio = [read_audio(c) for c in clips]
    t0 = time.perf_counter()
    serial = [clf.predict(a, sr).scores for a, sr in audio]
    serial_per_s = len(audio) / (time.perf_counter() - t0)
    wrong, errors = [0], []

    def worker(k: int) -> None:
        for i in range(calls):
            j = (i + k) % len(audio)
            try:
                if clf.predict(*audio[j]).scores != serial[j]:
                    wrong[0] += 1
            except Exception as err:  # noqa: BLE001 - counted, that is the measurement
                errors.append(type(err).__name__)

    pool = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    t0 = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    threaded_per_s = threads * calls / (time.perf_counter() - t0)
    return {"threads": threads, "calls": threads * calls, "different_from_serial": wrong[0], "errors": len(errors),
            "serial_per_s": round(serial_per_s, 1), "threaded_per_s": round(threaded_per_s, 1)}


def serve(port: int, cwd=None, tries: int = 120) -> tuple[subprocess.Popen, str]:
    """Start ``python -m webapp`` on ``port`` from the checkout ``cwd`` (default: this one) and wait, ``tries``
    half-second polls at most, until it answers its health check; return the server process and its URL."""
    import time
    import urllib.request

    server = subprocess.Popen([sys.executable, "-m", "webapp", "--port", str(port)], cwd=cwd,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(tries):
        try:
            if urllib.request.urlopen(url + "/_stcore/health", timeout=2).read() == b"ok":
                break
        except OSError:
            time.sleep(0.5)
    return server, url


def rss_mb(pid: int) -> float:
    """Resident memory of process ``pid`` in MB (0 once it is gone); ``python -m webapp`` replaces itself by
    the Streamlit server, so the server's pid is the one :func:`serve` started."""
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def chromium(pw):
    """Headless /usr/bin/chromium through Playwright, as the browser tests start it."""
    return pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                              args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])


_SERVER = """
import json, os, sys
from playwright.sync_api import sync_playwright
from benchmarks.soak import chromium, rss_mb as pid_rss_mb, serve

paths, uploads, port = json.loads(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
server, url = serve(port)
rss_mb = lambda: pid_rss_mb(server.pid)

try:
    with sync_playwright() as pw:
        browser = chromium(pw)
        pages = [browser.new_context().new_page() for _ in range(4)]
        for page in pages:
            page.goto(url)
        samples = [(0, rss_mb())]
        for i in range(uploads):
            page, path = pages[i % len(pages)], paths[i % len(paths)]
            page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(path)
            page.locator('[data-testid="stCaptionContainer"]', has_text=os.path.basename(path)).first.wait_for(
                timeout=90_000)
            if (i + 1) % 10 == 0:
                samples.append((i + 1, rss_mb()))
        browser.close()
    print(json.dumps({"uploads": uploads, "sessions": 4, "rss_mb": samples}))
finally:
    server.terminate()
"""


def server_soak(clips: Sequence[Path], workdir: Path, uploads: int = 80, port: int = 8765) -> dict:
    """The real page: Streamlit serving 4 Chromium sessions that upload ``clips`` (and the first clip again at
    44,101 and 22,050 Hz, the odd rates whose filter banks the old resampler cached) in turn; server RSS every
    10 uploads. Needs Playwright and /usr/bin/chromium."""
    import soundfile as sf

    from edge_runtime.audio import read_audio
    from edge_runtime.resample import resample

    audio, sr = read_audio(clips[0])
    odd = []
    for rate in (44101, 22050):
        path = Path(workdir) / f"odd_rate_{rate}.wav"
        sf.write(path, resample(audio, sr, rate), rate, subtype="PCM_16")
        odd.append(path)
    paths = [str(p) for p in [*clips, *odd]]
    proc = subprocess.run([sys.executable, "-c", _SERVER, json.dumps(paths), str(uploads), str(port)],
                          capture_output=True, text=True, timeout=1800, cwd=ROOT)
    return _rss_summary(proc, "server soak")


def _rss_summary(proc: subprocess.CompletedProcess, what: str) -> dict:
    """The JSON a soak process printed, with its peak and its growth after the first sample batch."""
    if proc.returncode != 0:
        raise RuntimeError(f"{what} failed: {proc.stderr.strip().splitlines()[-1:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    rss = [mb for _, mb in result["rss_mb"]]
    result["growth_after_warmup_mb"] = round(rss[-1] - rss[1], 1)
    result["peak_mb"] = round(max(rss), 1)
    return result
