"""The web app: analysis on real clips, and the page driven in headless Chromium like a person would."""
from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("streamlit")

from edge_runtime.adaptive import AdaptiveClassifier  # noqa: E402
from edge_runtime.audio import load_audio  # noqa: E402
from edge_runtime.classifier import EmotionClassifier  # noqa: E402
from webapp.analysis import UploadError, analyse, learn_voice, read_voice  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
REQUIRE = os.environ.get("SER_REQUIRE_BROWSER_TEST") == "1"
#: Chromium flags for a closed-network, headless machine (no sandbox as root, no background fetches).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]


def wav_bytes(audio: np.ndarray, sr: int) -> bytes:
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, audio, sr, format="WAV", subtype="PCM_16")
    return buf.getvalue()


@pytest.fixture(scope="module")
def int8():
    return EmotionClassifier("int8")


def test_analysis_matches_the_classifier(clip_path, int8):
    result = analyse(clip_path.read_bytes(), clip_path.name, int8)
    assert result.prediction.label == int8.predict_file(clip_path).label
    assert result.mfcc.shape == (int8.config.n_frames, int8.config.n_features)
    assert result.sample_rate == 16000 and 3.0 < result.seconds < 5.0


@pytest.mark.parametrize("data, name, reason", [
    (b"", "empty.wav", "empty"),
    (b"hello, this is not audio\n" * 50, "notes.txt", "supported: wav"),
    (b"RIFF\x00\x00\x00\x00WAVEfmt ", "truncated.wav", "cannot read audio"),
])
def test_bad_uploads_give_one_line(int8, data, name, reason):
    with pytest.raises(UploadError) as err:
        analyse(data, name, int8)
    message = str(err.value)
    assert reason in message and name in message and "\n" not in message and "/tmp" not in message


def test_silent_and_too_long_uploads(int8):
    with pytest.raises(UploadError, match="silent"):
        analyse(wav_bytes(np.zeros(16000, np.float32), 16000), "zeros.wav", int8)
    with pytest.raises(UploadError, match="more than the 600 s limit"):
        analyse(wav_bytes(np.zeros(601 * 8000, np.float32), 8000), "long.wav", int8)


def voice_clips(data_root, n: int = 11) -> list[Path]:
    """``n`` clips of RAVDESS actor 5 (one voice, several emotions)."""
    return sorted((data_root / "Actor_05").glob("03-01-*.flac"))[::5][:n]


def test_a_visitor_voice_adapts_after_ten_uploads(data_root, int8):
    shared = AdaptiveClassifier("int8")
    visitor, other = shared.for_new_speaker(), shared.for_new_speaker()
    clips = voice_clips(data_root)
    reference = AdaptiveClassifier("int8")           # the same clips enrolled directly
    for clip in clips[:10]:
        result = analyse(clip.read_bytes(), clip.name, visitor)
        assert result.unadapted is None and result.prediction.label == int8.predict_file(clip).label
        learn_voice(visitor, result)
        reference.enrol(reference.features(load_audio(clip, 16000), 16000))
    assert visitor.adapted and visitor.speaker.n_windows == 10
    assert shared.speaker.n_windows == 0 and other.speaker.n_windows == 0   # other visitors hear nothing of it
    assert visitor.companion is shared.companion                            # no second copy of the models

    last = clips[10]
    result = analyse(last.read_bytes(), last.name, visitor)
    expected = reference.predict_features(reference.features(load_audio(last, 16000), 16000))
    assert result.prediction.label == expected.label
    assert result.prediction.scores == pytest.approx(expected.scores, abs=1e-5)
    assert result.unadapted.label == int8.predict_file(last).label
    assert analyse(last.read_bytes(), last.name, other).unadapted is None


def test_voice_statistics_round_trip_and_bad_files(data_root, tmp_path):
    clf = AdaptiveClassifier("int8")
    for clip in voice_clips(data_root, 3):
        clf.enrol(clf.features(load_audio(clip, 16000), 16000))
    clf.save_stats(tmp_path / "cli.json")               # the format of --speaker-stats
    for data in ((tmp_path / "cli.json").read_bytes(), clf.speaker.to_json().encode()):
        stats = read_voice(data, "me.json", clf.speaker.columns, memory=None)
        assert stats.n_windows == 3 and stats.memory is None
        np.testing.assert_allclose(stats.mean_std()[0], clf.speaker.mean_std()[0])
    (tmp_path / "web.json").write_bytes(clf.speaker.to_json().encode())   # and the page's download on the device
    device = AdaptiveClassifier("int8")
    device.load_stats(tmp_path / "web.json")
    assert device.speaker.n_windows == 3
    np.testing.assert_allclose(device.speaker.mean_std()[1], clf.speaker.mean_std()[1])
    good = clf.speaker.to_dict()
    for data, why in ((b"\xff\xfe not json", "not a speaker statistics file"),
                      (json.dumps({**good, "sum": [1.0, 2.0]}).encode(), "lists of 40 numbers"),
                      (json.dumps({"columns": 40}).encode(), "not a speaker statistics file")):
        with pytest.raises(UploadError, match=why) as err:
            read_voice(data, "bad.json", clf.speaker.columns)
        assert "bad.json" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(UploadError, match="statistics of 40 columns, the model needs 13"):
        read_voice(clf.speaker.to_json().encode(), "other.json", 13)


# --- the page in a real browser -------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def playwright():
    """Playwright driving Debian's Chromium (never a downloaded browser)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if REQUIRE:
            raise
        pytest.skip("playwright is not installed")
    if not Path(CHROMIUM).exists():
        if REQUIRE:
            pytest.fail(f"{CHROMIUM} is missing (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} is missing")
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="module")
def browser(playwright):
    b = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    yield b
    b.close()


@pytest.fixture(scope="module")
def app_url():
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "webapp", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the app did not start: {proc.stdout.read() if proc.poll() is not None else 'timeout'}")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def _upload(page, url: str, path: Path):
    page.goto(url)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(path))


def classify_label(clip: Path, model: str) -> str:
    """The label ``python -m edge_runtime classify --json`` prints for ``clip``."""
    cli = subprocess.run([sys.executable, "-m", "edge_runtime", "classify", "--json", "--model", model, str(clip)],
                         capture_output=True, text=True, check=True)
    return json.loads(cli.stdout.splitlines()[0])["label"]


def test_page_predicts_what_classify_prints(browser, app_url, data_root, tmp_path):
    clip = data_root / "Actor_22" / "03-01-05-01-01-01-22.flac"
    expected = classify_label(clip, "int8")

    page = browser.new_page(viewport={"width": 1100, "height": 1500})
    _upload(page, app_url, clip)
    value = page.locator('[data-testid="stMetricValue"]')
    value.wait_for(timeout=60_000)
    assert value.inner_text().strip() == expected
    page.get_by_text("coefficients x").wait_for(timeout=30_000)   # the last element of the page
    page.wait_for_function("document.images.length >= 3 && "
                           "Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
    shot = Path(os.environ.get("SER_SCREENSHOT", tmp_path / "webapp.png"))
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    text = page.inner_text("body")
    assert "Traceback" not in text and "Error" not in text and "model int8" in text

    page.get_by_text("float32").click()   # the sidebar's model choice re-runs the page
    page.get_by_text("model float32").wait_for(timeout=60_000)
    assert value.inner_text().strip() == classify_label(clip, "float32")
    page.close()


@pytest.mark.parametrize("name", ["broken.wav", "[click](https:x.example).wav"])
def test_page_explains_a_bad_upload_and_never_links_its_name(browser, app_url, tmp_path, name):
    bad = tmp_path / name
    bad.write_bytes(b"RIFF" + b"\x00" * 40)
    page = browser.new_page()
    _upload(page, app_url, bad)
    alert = page.locator('[data-testid="stAlert"]')
    alert.wait_for(timeout=60_000)
    assert name in alert.inner_text() and alert.locator("a").count() == 0   # the name as typed, not a link
    assert "Traceback" not in page.inner_text("body")
    page.close()


def test_page_records_from_the_microphone(playwright, app_url, data_root, tmp_path):
    """Chromium's fake microphone plays a real clip; the Record tab classifies what it captured."""
    import soundfile as sf

    clip = data_root / "Actor_22" / "03-01-05-01-01-01-22.flac"
    audio, sr = sf.read(clip)
    fake = tmp_path / "microphone.wav"
    sf.write(fake, audio, sr, subtype="PCM_16")
    b = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS + [
        "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={fake}"])
    try:
        page = b.new_context(permissions=["microphone"]).new_page()
        page.goto(app_url)
        page.get_by_role("tab", name="Record").click()
        button = page.locator('[data-testid="stAudioInputActionButton"]')
        button.click()
        page.wait_for_timeout(500)
        assert button.get_attribute("aria-label") == "Stop recording"
        page.wait_for_timeout(len(audio) / sr * 1000)
        button.click()
        value = page.locator('[data-testid="stMetricValue"]')
        value.wait_for(timeout=60_000)
        assert value.inner_text().strip() == classify_label(clip, "int8")
        assert "recording.wav" in page.inner_text("body")
    finally:
        b.close()


def test_sessions_uploading_at_once_each_get_their_own_answer(browser, app_url, data_root):
    """Four visitors upload four different clips at the same moment: each page shows its own clip's label."""
    clips = [data_root / f"Actor_{a}" / n for a, n in (("03", "03-01-05-02-01-01-03.flac"),
                                                         ("08", "03-01-04-02-02-01-08.flac"),
                                                         ("13", "03-01-03-02-01-02-13.flac"),
                                                         ("16", "03-01-07-02-02-02-16.flac"))]
    expected = [classify_label(c, "int8") for c in clips]
    contexts = [browser.new_context() for _ in clips]
    pages = [ctx.new_page() for ctx in contexts]
    try:
        for page in pages:
            page.goto(app_url)
        for page, clip in zip(pages, clips):    # every upload starts before any result is read
            page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(clip))
        for page, clip, label in zip(pages, clips, expected):
            value = page.locator('[data-testid="stMetricValue"]')
            value.wait_for(timeout=90_000)
            assert value.inner_text().strip() == label, clip.name
            assert clip.name in page.inner_text("body") and "could not classify" not in page.inner_text("body")
    finally:
        for ctx in contexts:
            ctx.close()


def test_long_upload_shows_the_emotion_timeline_and_its_csv(browser, app_url, data_root, tmp_path):
    """A 20 s recording of three clips with silence between: the page draws the timeline, lists the segments
    and offers them as CSV, the same segments as ``classify --segments``."""
    import soundfile as sf

    from edge_runtime.segments import segment_file

    names = ["Actor_22/03-01-05-01-01-01-22.flac", "Actor_13/03-01-04-02-01-01-13.flac"]
    parts = [np.zeros(32000, np.float32)]
    for n in names:
        audio, sr = sf.read(data_root / n, dtype="float32")
        parts += [audio, np.zeros(48000, np.float32)]
    path = tmp_path / "two_emotions.wav"
    sf.write(path, np.concatenate(parts), 16000, subtype="PCM_16")
    expected, _ = segment_file(EmotionClassifier(), path)

    page = browser.new_page(viewport={"width": 1100, "height": 1800})
    _upload(page, app_url, path)
    page.get_by_text("Emotion per utterance").wait_for(timeout=90_000)
    table = page.locator('[data-testid="stDataFrame"]')
    table.wait_for(timeout=30_000)
    with page.expect_download() as info:
        page.get_by_text("Download the segments (CSV)").click()
    csv_text = Path(info.value.path()).read_text()
    rows = csv_text.strip().splitlines()[1:]
    assert [r.split(",")[3] for r in rows] == [s.label for s in expected]
    assert "silence" in [s.label for s in expected] and "Traceback" not in page.inner_text("body")
    page.wait_for_function("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
    shot = os.environ.get("SER_TIMELINE_SCREENSHOT")
    if shot:
        page.screenshot(path=shot, full_page=True)
    page.close()


def test_page_learns_a_voice_once_per_upload(browser, app_url, data_root, tmp_path):
    """With "Learn my voice" on, each new upload is heard once (re-runs of the page do not count it again), the
    eleventh is answered by the adapted pair, the statistics download as my-voice.json, "Forget my voice"
    starts over, and loading the file brings the voice back."""
    clips = voice_clips(data_root)
    reference = AdaptiveClassifier("int8")
    for clip in clips[:10]:
        reference.enrol(reference.features(load_audio(clip, 16000), 16000))
    expected = reference.predict_features(reference.features(load_audio(clips[10], 16000), 16000)).label

    page = browser.new_page(viewport={"width": 1100, "height": 1500})
    page.goto(app_url)
    page.get_by_text("Learn my voice").click()
    page.get_by_text("Heard 0 of 10 clips of your voice").wait_for(timeout=60_000)
    dropzone = page.get_by_test_id("stTabs").get_by_test_id("stFileUploaderDropzoneInput")
    for n, clip in enumerate(clips[:10], 1):
        dropzone.set_input_files(str(clip))
        page.get_by_text(f"Heard {n} of 10" if n < 10 else "Adapted to your voice (10 clips").wait_for(timeout=60_000)
    page.get_by_text("float32").click()      # a re-run of the page with the same upload: not heard again
    page.get_by_text("model float32").wait_for(timeout=60_000)
    page.get_by_text("int8 (").click()
    page.get_by_text("model int8").wait_for(timeout=60_000)
    assert "Adapted to your voice (10 clips" in page.inner_text("body")

    dropzone.set_input_files(str(clips[10]))
    page.get_by_text("Adapted to your voice (11 clips").wait_for(timeout=60_000)
    assert page.get_by_text("the default model alone").count() == 1
    assert page.locator('[data-testid="stMetricValue"]').inner_text().strip() == expected
    with page.expect_download() as download:
        page.get_by_role("button", name="Download my voice statistics").click()
    assert download.value.suggested_filename == "my-voice.json"
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert json.loads(saved.read_text())["n_windows"] == 11
    page.get_by_role("button", name="Forget my voice").click()   # the clip on the page is not heard again
    page.get_by_text("Heard 0 of 10 clips of your voice").wait_for(timeout=60_000)
    page.get_by_text("the default model alone").wait_for(state="detached", timeout=60_000)
    page.get_by_test_id("stSidebarUserContent").get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(saved))
    page.get_by_text("Adapted to your voice (11 clips").wait_for(timeout=60_000)   # carried back in
    page.get_by_text("the default model alone").wait_for(timeout=60_000)
    assert "Traceback" not in page.inner_text("body")
    page.close()


def test_one_utterance_is_one_answer_and_several_are_a_timeline(data_root, int8):
    """A 12 s upload holding one clip and silence is answered like the clip; two clips are two utterances."""
    import soundfile as sf

    clip = data_root / "Actor_22/03-01-05-01-01-01-22.flac"
    audio, sr = sf.read(clip, dtype="float32")
    gap = np.zeros(4 * sr, np.float32)
    one = analyse(wav_bytes(np.concatenate([gap, audio, gap]), sr), "one.wav", int8)
    assert one.seconds > 2 * int8.config.window_seconds and not one.segments
    assert one.prediction.label == int8.predict_file(clip).label
    two = analyse(wav_bytes(np.concatenate([gap, audio, gap, audio, gap]), sr), "two.wav", int8)
    assert [s.label for s in two.segments if s.is_speech] == [one.prediction.label] * 2
