"""The Streamlit page (run it with ``python -m webapp``, not by importing it)."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import streamlit as st

from edge_runtime.audio import AUDIO_SUFFIXES
from edge_runtime.classifier import EmotionClassifier
from edge_runtime.model_card import BUNDLED, BUNDLED_DIR, ModelError
from edge_runtime.segments import DEFAULT_HOP

from webapp.analysis import MAX_UPLOAD_SECONDS, UploadError, analyse, plain, segment_rows, segments_csv
from webapp.cli import MAX_UPLOAD_MB
from webapp.plots import mfcc_figure, scores_figure, timeline_figure, waveform_figure

EMOJI = {"neutral": "😐", "calm": "😌", "happy": "😄", "sad": "😢", "angry": "😠",
         "fearful": "😨", "disgust": "🤢", "surprised": "😲"}


@st.cache_resource(show_spinner="Loading the model ...")
def classifier(model: str) -> EmotionClassifier:
    """One interpreter per bundled model, shared by every session of the server."""
    return EmotionClassifier(model)


def clf_corpora(model: str) -> list[str]:
    """The corpora the bundled ``model`` was trained on, from its model card."""
    from edge_runtime.model_card import load_card
    try:
        names = {"ravdess": "RAVDESS speech", "ravdess-song": "RAVDESS song", "crema-d": "CREMA-D"}
        return [names.get(c, c) for c in load_card(model).training.get("corpora", {})]
    except ModelError:
        return []


def show_figure(fig) -> None:
    st.pyplot(fig, clear_figure=True)
    plt.close(fig)


def show(data: bytes, name: str, clf: EmotionClassifier) -> None:
    """Classify one upload and lay out the result, or one error line."""
    try:
        result = analyse(data, name, clf)
    except UploadError as err:
        st.error(plain(str(err)))   # a file name is text, never a link
        return
    except Exception as err:  # never a stack trace in the page
        st.error(plain(f"{name}: could not classify it ({type(err).__name__}: "
                       f"{str(err).splitlines()[0] if str(err) else ''})"))
        return
    p = result.prediction
    left, right = st.columns([1, 2])
    with left:
        st.metric("Predicted emotion" + (" (over the speech)" if result.segments else ""), p.label)
        st.markdown(f"**{p.confidence:.0%}** confident")
        st.markdown(f"<div style='font-size:4rem;line-height:1'>{EMOJI.get(p.label, '')}</div>",
                    unsafe_allow_html=True)
        st.caption(f"{name} · {result.seconds:.2f} s at {result.sample_rate} Hz · "
                   f"model {clf.model_path.stem.removeprefix('model_')} · "
                   f"features + inference {result.ms:.1f} ms ({clf.backend})")
    with right:
        show_figure(scores_figure(p.scores))
    st.audio(data)
    if result.segments:
        st.subheader("Emotion over time")
        show_figure(timeline_figure(result.segments, result.seconds))
        st.caption(f"A {clf.config.window_seconds:.1f} s window every {DEFAULT_HOP:g} s; grey is silence or no speech. "
                   + result.summary.line())
        st.dataframe(segment_rows(result.segments), hide_index=True, use_container_width=True)
        st.download_button("Download the segments (CSV)", segments_csv(result, clf.labels),
                           file_name=f"{Path(name).stem}_segments.csv", mime="text/csv")
    st.subheader("Waveform")
    show_figure(waveform_figure(result.audio, result.sample_rate))
    st.subheader("MFCC (the model's input)")
    cfg = clf.config
    show_figure(mfcc_figure(result.mfcc[:, :cfg.n_mfcc], cfg.hop_length / cfg.sample_rate))
    st.caption(f"{cfg.n_mfcc} coefficients x {cfg.n_frames} frames: the clip is trimmed of silence, "
               f"peak-normalised and fitted to one {cfg.window_seconds:.2f} s window.")


def main() -> None:
    st.set_page_config(page_title="Speech emotion", page_icon="🎙️", layout="centered")
    st.title("Speech emotion recognition")
    st.write("Upload a speech clip or record one; the on-device model (the same TFLite file a Raspberry Pi "
             f"runs) names one of 8 emotions, and shows them over time for a longer recording (up to "
             f"{MAX_UPLOAD_SECONDS / 60:.0f} minutes).")
    with st.sidebar:
        model = st.radio("Model", list(BUNDLED), format_func=lambda m: f"{m} ({(BUNDLED_DIR / BUNDLED[m]).stat().st_size // 1024} KB)",
                         help="int8 is what ships to the device; float32 is the unquantised conversion.")
        corpora = ", ".join(clf_corpora(model)) or "RAVDESS"
        st.caption(f"Trained on {corpora} (acted speech, 8 emotions). Clips up to {MAX_UPLOAD_SECONDS / 60:.0f} "
                   f"minutes and {MAX_UPLOAD_MB} MB; "
                   "a 3.2 s window at a time.")
    try:
        clf = classifier(model)
    except ModelError as err:
        st.error(f"cannot load the {model} model: {err}")
        return
    upload_tab, record_tab = st.tabs(["Upload a file", "Record"])
    with upload_tab:
        upload = st.file_uploader("Audio file", type=[s.lstrip(".") for s in AUDIO_SUFFIXES])
        if upload is not None:
            show(upload.getvalue(), upload.name, clf)
    with record_tab:
        recording = st.audio_input("Record from your microphone")
        if recording is not None:
            show(recording.getvalue(), "recording.wav", clf)


main()
