"""The Streamlit page (run it with ``python -m webapp``, not by importing it)."""
from __future__ import annotations

import copy
import hashlib
from pathlib import Path

import matplotlib.pyplot as plt
import streamlit as st

from edge_runtime.adaptive import AdaptiveClassifier
from edge_runtime.audio import AUDIO_SUFFIXES
from edge_runtime.classifier import EmotionClassifier
from edge_runtime.model_card import BUNDLED, BUNDLED_DIR, ModelError
from webapp.analysis import (
    MAX_UPLOAD_SECONDS,
    UploadError,
    analyse,
    learn_voice,
    plain,
    read_voice,
    segment_rows,
    segments_csv,
)
from webapp.cli import MAX_UPLOAD_MB
from webapp.plots import mfcc_figure, scores_figure, timeline_figure, waveform_figure

EMOJI = {"neutral": "😐", "calm": "😌", "happy": "😄", "sad": "😢", "angry": "😠",
         "fearful": "😨", "disgust": "🤢", "surprised": "😲"}


@st.cache_resource(show_spinner="Loading the model ...")
def classifier(model: str) -> EmotionClassifier:
    """One interpreter per bundled model, shared by every session of the server."""
    return EmotionClassifier(model)


@st.cache_resource(show_spinner="Loading the speaker-adapted model ...")
def adaptive_classifier(model: str) -> AdaptiveClassifier:
    """The default model and its speaker-adapted companion, shared by every session; each visitor listens through
    :meth:`~edge_runtime.adaptive.AdaptiveClassifier.for_new_speaker` with their own statistics."""
    return AdaptiveClassifier(model)


def visitor(model: str) -> AdaptiveClassifier:
    """This browser session's listener: its voice statistics live in the session only (never on disk)."""
    shared = adaptive_classifier(model)
    if "voice" not in st.session_state:
        st.session_state.voice = shared.for_new_speaker().speaker
    return shared.for_new_speaker(st.session_state.voice)


def clf_corpora(model: str) -> list[str]:
    """The corpora the bundled ``model`` was trained on, from its model card."""
    from edge_runtime.model_card import CORPUS_NAMES, load_card
    try:
        return [CORPUS_NAMES.get(c, c) for c in load_card(model).training.get("corpora", {})]
    except ModelError:
        return []


def show_figure(fig) -> None:
    st.pyplot(fig, clear_figure=True)
    plt.close(fig)


def analysed(data: bytes, name: str, clf: EmotionClassifier):
    """The upload's analysis, computed once per upload and model: Streamlit re-runs the page on every click, and a
    voice being learned must hear each upload once (a repeat is answered with a copy of the statistics)."""
    digest = hashlib.sha256(data).hexdigest()
    st.session_state.setdefault("on_page", set()).add(digest)
    adaptive = isinstance(clf, AdaptiveClassifier)
    key = (digest, str(clf.model_path), adaptive)
    last = st.session_state.get("last")
    if last is not None and last[0] == key:
        return last[1]
    heard = st.session_state.setdefault("heard", set())
    learning = adaptive and digest not in heard
    if adaptive and not learning:
        clf = clf.for_new_speaker(copy.deepcopy(clf.speaker))
    result = analyse(data, name, clf)
    if learning:
        learn_voice(clf, result)
        heard.add(digest)
    st.session_state.last = (key, result)
    return result


def show(data: bytes, name: str, clf: EmotionClassifier) -> None:
    """Classify one upload and lay out the result, or one error line."""
    try:
        result = analysed(data, name, clf)
    except UploadError as err:
        st.error(plain(str(err)))   # a file name is text, never a link
        return
    except Exception as err:  # never a stack trace in the page
        st.error(plain(f"{name}: could not classify it ({type(err).__name__}: "
                       f"{str(err).splitlines()[0] if str(err) else ''})"))
        return
    p = result.prediction
    if result.segments:     # several utterances: the timeline leads, the overall answer follows
        st.subheader("Emotion per utterance")
        show_figure(timeline_figure(result.segments, result.seconds))
        st.caption("One segment per utterance, cut at its pauses and classified whole; grey is silence or no "
                   "speech. " + result.summary.line())
        st.dataframe(segment_rows(result.segments), hide_index=True, use_container_width=True)
        st.download_button("Download the segments (CSV)", segments_csv(result, clf.labels),
                           file_name=f"{Path(name).stem}_segments.csv", mime="text/csv")
    left, right = st.columns([1, 2])
    with left:
        st.metric("Over all the speech" if result.segments else "Predicted emotion", p.label)
        st.markdown(f"**{p.confidence:.0%}** confident" + (f" — uncertain: *{p.runner_up}* is nearly as likely"
                                                             if p.uncertain else ""))
        if result.unadapted is not None:
            st.caption(f"adapted to your voice; the default model alone: {result.unadapted.label} "
                       f"({result.unadapted.confidence:.0%})")
        st.markdown(f"<div style='font-size:4rem;line-height:1'>{EMOJI.get(p.label, '')}</div>",
                    unsafe_allow_html=True)
        st.caption(f"{plain(name)} · {result.seconds:.2f} s at {result.source_rate or result.sample_rate} Hz · "
                   f"model {clf.model_path.stem.removeprefix('model_')}"
                   f"{' + speaker-adapted int8' if result.unadapted is not None else ''} · "
                   f"features + inference {result.ms:.1f} ms ({clf.backend})")
    with right:
        show_figure(scores_figure(p.scores))
    st.audio(data)
    st.subheader("Waveform")
    show_figure(waveform_figure(result.audio, result.sample_rate))
    st.subheader("MFCC (the model's input)")
    cfg = clf.config
    show_figure(mfcc_figure(result.mfcc[:, :cfg.n_mfcc], cfg.hop_length / cfg.sample_rate))
    st.caption(f"{cfg.n_mfcc} coefficients x {cfg.n_frames} frames: the clip is trimmed of silence, "
               f"peak-normalised and fitted to one {cfg.window_seconds:.2f} s window.")


def voice_panel(clf: AdaptiveClassifier) -> None:
    """The sidebar's state of the visitor's voice: progress or adapted, download, load, forget."""
    with st.sidebar:
        voice = st.session_state.voice
        if clf.adapted:
            st.success(f"Adapted to your voice ({voice.n_windows} clips or utterances heard).")
        else:
            st.progress(voice.n_windows / clf.enrol_windows,
                        text=f"Heard {voice.n_windows} of {clf.enrol_windows} clips of your voice")
        st.download_button("Download my voice statistics", voice.to_json(), file_name="my-voice.json",
                           mime="application/json",
                           help="To carry your voice to another session, or to the device: "
                                "python -m edge_runtime listen --speaker-stats my-voice.json")
        saved = st.file_uploader("Load voice statistics", type=["json"], key="voice_file")
        digest = None if saved is None else hashlib.sha256(saved.getvalue()).hexdigest()
        loaded = st.session_state.setdefault("loaded", set())
        if digest is not None and digest not in loaded:
            try:   # each file once: the uploader keeps it across re-runs, and the voice goes on learning
                st.session_state.voice = read_voice(saved.getvalue(), saved.name, voice.columns, voice.memory)
            except UploadError as err:
                st.error(plain(str(err)))
            else:
                loaded.add(digest)
                st.session_state.pop("last", None)     # the clip on the page is answered anew
                st.rerun()
        if st.button("Forget my voice"):
            st.session_state.voice = clf.for_new_speaker().speaker
            st.session_state.heard = set(st.session_state.get("on_page", ()))   # what is on the page stays forgotten
            st.session_state.pop("last", None)
            st.rerun()


def main() -> None:
    st.set_page_config(page_title="Speech emotion", page_icon="🎙️", layout="centered")
    st.title("Speech emotion recognition")
    st.write("Upload a speech clip or record one; the on-device model (the same TFLite file a Raspberry Pi "
             f"runs) names one of 8 emotions, and shows them over time for a longer recording (up to "
             f"{MAX_UPLOAD_SECONDS / 60:.0f} minutes).")
    with st.sidebar:
        model = st.radio("Model", list(BUNDLED),
                         format_func=lambda m: f"{m} ({(BUNDLED_DIR / BUNDLED[m]).stat().st_size // 1024} KB)",
                         help="int8 is what ships to the device; float32 is the unquantised conversion.")
        corpora = ", ".join(clf_corpora(model)) or "RAVDESS"
        st.caption(f"Trained on {corpora} (acted speech, 8 emotions). Clips up to {MAX_UPLOAD_SECONDS / 60:.0f} "
                   f"minutes and {MAX_UPLOAD_MB} MB; "
                   "a 3.2 s window at a time.")
        learn = st.toggle("Learn my voice", key="learn",
                          help="Each clip you upload or record also teaches the page how your voice usually "
                               "sounds (the mean and spread of its MFCCs, kept in this browser session only, never "
                               "the audio). After 10 clips of one voice a second, speaker-adapted model joins, "
                               "more often right on voices and microphones it never heard (docs/device.md). "
                               "Upload only your own voice while it is on.")
    try:
        clf = visitor(model) if learn else classifier(model)
    except ModelError as err:
        st.error(f"cannot load the {model} model: {err}")
        return
    st.session_state.on_page = set()      # the uploads this run shows (analysed() adds them)
    upload_tab, record_tab = st.tabs(["Upload a file", "Record"])
    with upload_tab:
        upload = st.file_uploader("Audio file", type=[s.lstrip(".") for s in AUDIO_SUFFIXES])
        if upload is not None:
            show(upload.getvalue(), upload.name, clf)
    with record_tab:
        recording = st.audio_input("Record from your microphone")
        if recording is not None:
            show(recording.getvalue(), "recording.wav", clf)
    if learn:   # after the uploads, so that it counts the one just heard
        voice_panel(clf)


main()
