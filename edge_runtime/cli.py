"""``python -m edge_runtime`` / ``ser``: classify files, listen to a microphone, describe the model.

Thin wrappers over :class:`~edge_runtime.classifier.EmotionClassifier` and
:class:`~edge_runtime.stream.StreamClassifier`. User errors print one line on
stderr and exit non-zero; nothing here prints a traceback for them.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
import warnings
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from . import __version__
from .adaptive import LISTEN_MEMORY, AdaptiveClassifier, bundled_companion
from .audio import AudioFileError, TruncatedAudioWarning, audio_info, find_audio, load_audio
from .classifier import MAX_FILE_SECONDS, UNCERTAIN_BELOW, EmotionClassifier
from .interpreter import MAX_THREADS, InterpreterUnavailable
from .model_card import ModelError, load_card
from .outputs import output_problem
from .preprocess import SILENCE_DBFS, SilentAudioError
from .resample import MAX_RATE, MIN_RATE, SampleRateError
from .segments import DEFAULT_HOP, UtteranceSegmenter
from .sources import FileSource, MicrophoneError, MicrophoneSource, list_input_devices
from .speech import NotSpeechError
from .stream import SILENCE, StreamClassifier, StreamConfig, WindowResult

EXIT_FAILED_FILES = 1
EXIT_USAGE = 2


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows ``(default: ...)`` only where there is a default worth showing (not None or False)."""

    def _get_help_string(self, action):
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


def shown(text) -> str:
    r"""``text`` for a terminal: control characters (an ANSI escape, a newline or a bell in a file name) written
    as ``\xNN`` escapes, so a name cannot move the cursor, recolour the screen or forge a line.

    >>> shown("clip\x1b[2J\n.wav")
    'clip\\x1b[2J\\x0a.wav'
    """
    return "".join(ch if ch.isprintable() or ch == " " else f"\\x{ord(ch):02x}" for ch in str(text))


def _err(message: str) -> None:
    print(f"error: {shown(message)}", file=sys.stderr)


def _warn(message: str) -> None:
    print(f"warning: {shown(message)}", file=sys.stderr)


def _number(kind, low: float, high: float, what: str):
    """An argparse type: ``kind`` (int or float) within [low, high], else a one-line usage error."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} must be a number, got {text!r}") from None
        if not low <= value <= high:   # also refuses nan and inf
            raise argparse.ArgumentTypeError(f"{what} must be between {low:g} and {high:g}, got {text}")
        return value
    return parse


#: Seconds between windows: below, a run never ends; above, the stream says nothing for too long.
HOP_RANGE = (0.05, 10.0)


def _classifier(args, adapt: bool = False, memory: Optional[float] = None) -> EmotionClassifier:
    """The classifier the options ask for; with ``adapt``, one that adapts to the speaker (and reads
    ``--speaker-stats`` if that file exists), forgetting after about ``memory`` utterances."""
    common = dict(num_threads=args.threads, backend=args.backend,
                  check_speech=not getattr(args, "no_speech_check", False))
    if not adapt:
        return EmotionClassifier(args.model, **common)
    clf = AdaptiveClassifier(args.model, companion=args.companion, memory=memory, **common)
    stats = getattr(args, "speaker_stats", None)
    if stats and Path(stats).is_file():
        try:
            clf.load_stats(stats)
        except ValueError as err:
            raise ModelError(str(err)) from None
        print(f"speaker statistics of {clf.speaker.n_windows} utterances read from {stats}", file=sys.stderr)
    return clf


class OutputError(Exception):
    """An output file that cannot be written (checked before the work starts)."""


def _check_outputs(args) -> None:
    """Refuse, before any audio is read, a ``--csv`` or ``--speaker-stats`` path that cannot be written."""
    for flag in ("csv", "speaker_stats"):
        path = getattr(args, flag, None)
        why = output_problem(path) if path else None
        if why:
            raise OutputError(f"--{flag.replace('_', '-')} {path}: cannot write there: {why}")


def _write_failed(what: str, path, err: Exception) -> int:
    """One line for an output that failed after the work (whose results are already on stdout)."""
    reason = getattr(err, "strerror", None) or str(err).splitlines()[0]
    _err(f"could not write {what} to {path} ({reason}); the results above are complete")
    return EXIT_FAILED_FILES


def _speaker_summary(clf: EmotionClassifier, args) -> int:
    """One stderr line on what an adaptive classifier has heard; saves ``--speaker-stats`` if asked. Returns the
    exit code of that save (0, or :data:`EXIT_FAILED_FILES` after one line saying why it failed)."""
    if not isinstance(clf, AdaptiveClassifier):
        return 0
    state = (f"adapted (the speaker-normalised model has weight {clf.weight:.2f})" if clf.adapted else
             f"not adapted yet (needs {clf.enrol_windows})")
    print(f"speaker: {clf.speaker.n_windows} utterances heard, {state}", file=sys.stderr)
    if getattr(args, "speaker_stats", None) and clf.speaker.n_windows:
        try:
            clf.save_stats(args.speaker_stats)
        except (OSError, ValueError) as err:
            return _write_failed("the speaker statistics", args.speaker_stats, err)
        print(f"speaker statistics saved to {args.speaker_stats}", file=sys.stderr)
    return 0


def _bar(p: float, width: int = 10) -> str:
    full = int(round(p * width))
    return "#" * full + "." * (width - full)


def _progress(enabled: bool, name: str):
    """A ``progress(done, total)`` callback drawing one self-overwriting bar on stderr (or nothing)."""
    last = [0.0]

    def draw(done: float, total: float) -> None:
        now = time.monotonic()
        if now - last[0] < 0.2 and done < total:
            return
        last[0] = now
        share = done / total if total else 1.0
        print(f"\r{name[-40:]:<40} [{_bar(share, 20)}] {share:4.0%} {done:7.1f}/{total:.1f} s", end="",
              file=sys.stderr, flush=True)
    return draw if enabled else None


def cmd_segments(args, clf: EmotionClassifier, paths) -> int:
    """``classify --segments``: emotion over time, one line (or JSON object, or CSV row) per segment."""
    from .segments import iter_segments, iter_utterances, summarise, write_csv

    show_progress = sys.stderr.isatty() and not args.quiet
    failed, rows = 0, []
    for path in paths:
        bar = _progress(show_progress, str(path))
        if not args.json:
            print(shown(path))
        segments = []
        try:
            found = iter_segments(clf, path, args.hop, bar) if args.windows else iter_utterances(clf, path, bar)
            for seg in found:
                segments.append(seg)
                if args.json:
                    print(json.dumps({"path": str(path), **seg.to_dict()}), flush=True)
                else:
                    if bar:
                        print("\r" + " " * 79 + "\r", end="", file=sys.stderr)
                    conf = f"{seg.confidence:5.2f}  {_bar(seg.confidence)}" if seg.is_speech else ""
                    print(f"  {seg.start:8.1f} - {seg.end:8.1f} s  {seg.label:<10} {conf}".rstrip(), flush=True)
        except AudioFileError as err:   # a file that breaks off: what was segmented before stays in the CSV
            failed += 1
            _err(str(err))
            continue
        finally:
            if bar:
                print(file=sys.stderr)
            rows += [(str(path), s) for s in segments]
        print(f"summary {shown(path)}: {summarise(segments).line()}", file=sys.stderr if args.json else sys.stdout,
              flush=True)
    if args.csv:
        try:
            write_csv(rows, args.csv, clf.labels)
        except OSError as err:
            return _write_failed(f"{len(rows)} segments", args.csv, err)
        print(f"wrote {len(rows)} segments to {args.csv}", file=sys.stderr)
    return EXIT_FAILED_FILES if failed else 0


def _file_features(clf: EmotionClassifier, path, args) -> Optional[np.ndarray]:
    """The model's input for one file, or ``None`` after one line on stderr saying why there is none."""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", TruncatedAudioWarning)
            audio = load_audio(path, clf.config.sample_rate, max_seconds=args.max_seconds)
        for w in caught:
            _warn(str(w.message))
        sr, _, _ = audio_info(path)
        if sr < clf.config.sample_rate:
            _warn(f"{path}: {sr} Hz audio has nothing above {sr // 2} Hz; the model expects "
                  f"{clf.config.sample_rate} Hz, so expect lower accuracy")
        return clf.speech_features(audio, clf.config.sample_rate)
    except SilentAudioError:
        _err(f"{path}: silent (peak below {SILENCE_DBFS:.0f} dBFS), nothing to classify")
    except NotSpeechError as err:
        _err(f"{path}: no speech: {err} (--no-speech-check classifies it anyway)")
    except AudioFileError as err:
        hint = "; use `listen --input FILE --fast` for long recordings" if "limit" in str(err) else ""
        _err(f"{err}{hint}")
    return None


def _enrol_files(clf: AdaptiveClassifier, paths, args) -> dict:
    """``classify --same-speaker``, first pass: every file's features, each enrolling the speaker."""
    windows = {}
    bar = _progress(sys.stderr.isatty() and not args.quiet, "hearing the speaker")
    for i, path in enumerate(paths):
        windows[path] = _file_features(clf, path, args)
        if windows[path] is not None:
            clf.enrol(windows[path])
        if bar:
            bar(i + 1, len(paths))
    if bar:
        print(file=sys.stderr)
    heard = sum(w is not None for w in windows.values())
    earlier = clf.speaker.n_windows - heard
    print(f"speaker: {heard} of {len(paths)} files heard" + (f", with {earlier} windows from before" if earlier else "")
          + ("" if clf.adapted else f"; fewer than {clf.enrol_windows} windows, so the default model answers alone"),
          file=sys.stderr)
    return windows


def cmd_classify(args) -> int:
    """Classify files and folders; one table row or JSON line per file (per segment with ``--segments``)."""
    _check_outputs(args)
    clf = _classifier(args, adapt=args.same_speaker or bool(args.speaker_stats))
    paths = find_audio(args.paths)
    if not paths:
        _err("no audio files found in " + ", ".join(map(str, args.paths)))
        return EXIT_USAGE
    if args.segments:   # the stream enrols an adaptive classifier with each utterance as it goes
        code = cmd_segments(args, clf, paths)
        return max(code, _speaker_summary(clf, args))
    windows = _enrol_files(clf, paths, args) if args.same_speaker else {}
    width = min(60, max(len(shown(p)) for p in paths))
    if not args.json:
        print(f"{'file':<{width}}  {'emotion':<10} {'conf':>5}  {'':10}  {'runner-up':<10} {'ms':>7}")
    failed = uncertain = 0
    for path in paths:
        t0 = time.perf_counter()
        mfcc = windows[path] if args.same_speaker else _file_features(clf, path, args)
        if mfcc is None:
            failed += 1
            continue
        pred = clf.predict_features(mfcc)
        ms = (time.perf_counter() - t0) * 1000.0
        if args.json:
            print(json.dumps({"path": str(path), **pred.to_dict(), "ms": round(ms, 2)}), flush=True)
        else:
            name = shown(path) if len(shown(path)) <= width else "..." + shown(path)[-(width - 3):]
            label = pred.label + ("?" if pred.uncertain else "")
            uncertain += pred.uncertain
            print(f"{name:<{width}}  {label:<10} {pred.confidence:5.2f}  {_bar(pred.confidence)}  "
                  f"{pred.runner_up:<10} {ms:7.1f}", flush=True)
    if uncertain and not args.json:
        print(f"? = uncertain: under {UNCERTAIN_BELOW:.0%} confident, the runner-up is nearly as likely",
              file=sys.stderr)
    if failed:
        print(f"{len(paths) - failed} of {len(paths)} files classified, {failed} failed", file=sys.stderr)
    saved = _speaker_summary(clf, args) if args.same_speaker else 0
    return EXIT_FAILED_FILES if failed else saved


def _status_line(r: WindowResult) -> str:
    speaker = "" if r.speaker_windows is None else (
        "  adapted" if r.adapted else f"  hearing the speaker ({r.speaker_windows})")
    if not r.is_speech:
        return f"[{r.time:7.1f} s] {r.label:<10} {'':5}  {'':10}  level {r.level_db:6.1f} dBFS{speaker}"
    return (f"[{r.time:7.1f} s] {r.label:<10} {r.confidence:5.2f}  {_bar(r.confidence)}  "
            f"level {r.level_db:6.1f} dBFS{speaker}")


def cmd_listen(args) -> int:
    """Live (or replayed) classification: a line per utterance as it ends, or per window (``--windows``, ``--json``)."""
    if args.list_devices:
        for d in list_input_devices():
            mark = "*" if d["default"] else " "
            print(f"{mark} {d['index']:>3}  {d['name']:<40} {d['channels']:>2} ch  {d['default_samplerate']:>7.0f} Hz")
        return 0
    _check_outputs(args)
    clf = _classifier(args, adapt=not args.no_adapt, memory=LISTEN_MEMORY)
    config = StreamConfig(hop_seconds=args.hop, smoothing=args.smoothing, vad_db=args.vad_db)
    live_line = sys.stdout.isatty() and not args.json
    if args.input:
        source = FileSource(args.input, realtime=not args.fast, tail_seconds=clf.config.window_seconds)
        running = contextlib.nullcontext(source)
    else:
        device = int(args.device) if args.device is not None and args.device.isdigit() else args.device
        source = running = MicrophoneSource(device, samplerate=args.rate)
    stream = StreamClassifier(clf, source.samplerate, config)
    name = args.input or source.device_name
    print(f"listening to {name} at {source.samplerate} Hz, window {clf.config.window_seconds:.2f} s, "
          f"hop {config.hop_seconds:g} s, model {clf.model_path.name} ({clf.backend})"
          + (f", adapting to the speaker after {clf.enrol_windows} utterances (--no-adapt: off)"
             if isinstance(clf, AdaptiveClassifier) else "") + "; Ctrl-C stops", file=sys.stderr)
    code = 0
    # A line per utterance as it ends (the live meter stays on a terminal); --windows or --json: per window.
    segmenter = None if args.json or args.windows else UtteranceSegmenter(clf, source.samplerate, config, enrol=False)
    try:
        with running:
            for chunk in source:
                for r in stream.push(chunk):
                    if args.json:
                        print(json.dumps(r.to_dict()), flush=True)
                    elif live_line:
                        print("\r" + _status_line(r).ljust(78), end="", flush=True)
                    elif args.windows:
                        print(_status_line(r), flush=True)
                if segmenter:
                    _print_utterances(segmenter.push(chunk), live_line)
                if args.duration and stream.stats.seconds >= args.duration:
                    break
    except KeyboardInterrupt:
        pass
    except (MicrophoneError, AudioFileError) as err:
        if live_line:
            print()
        _err(str(err))
        code = EXIT_FAILED_FILES
    if segmenter:
        _print_utterances(segmenter.finish(), live_line)
    if live_line:
        print()
    if getattr(source, "missing_frames", 0) > 0:
        print(f"warning: {args.input}: the header promises {source.missing_frames / source.samplerate:.2f} s more "
              f"than the file holds (cut off?)", file=sys.stderr)
    stream.stats.overflows = source.overflows
    code = max(code, _speaker_summary(clf, args))
    print(stream.stats.summary(), file=sys.stderr)   # the closing line
    return code


def _print_utterances(segments, live_line: bool) -> None:
    """``listen``'s line for each utterance that ended (silence between them is not printed)."""
    for seg in segments:
        if seg.label == SILENCE:
            continue
        mark = "?" if seg.is_speech and seg.confidence < UNCERTAIN_BELOW else ""
        conf = f"{seg.confidence:4.2f}  {_bar(seg.confidence)}" if seg.is_speech else ""
        line = f"[{seg.start:7.1f} - {seg.end:7.1f} s]  {seg.label + mark:<10} {conf}".rstrip()
        print(("\r" + line.ljust(78)) if live_line else line, flush=True)


def cmd_info(args) -> int:
    """Describe the model: file, variant, backend, labels, features, training figures."""
    clf = _classifier(args)
    card = clf.card
    t = card.training
    print(f"model     {card.path} ({card.variant}, {card.path.stat().st_size / 1024:.0f} KB)")
    print(f"backend   {clf.backend}")
    print(f"labels    {', '.join(card.labels)}")
    c = card.feature_config
    print(f"features  {c.n_mfcc} MFCC{' + pitch and voicing' if c.prosody else ''} x {c.n_frames} frames, "
          f"{c.sample_rate} Hz, window {c.window_seconds:.2f} s")
    if t.get("corpora"):
        print("trained   " + "; ".join(f"{c} ({r['clips']} clips, {r['licence']})" for c, r in t["corpora"].items()))
    if isinstance(t.get("test_accuracy"), float) and t["test_accuracy"] == t["test_accuracy"]:   # not None/NaN
        print(f"tested    {t.get('protocol')} protocol, test accuracy {t['test_accuracy']:.3f}, "
              f"macro F1 {t.get('macro_f1', float('nan')):.3f}")
    for protocol, e in card.evaluation.items():
        figures = ", ".join(f"{c} {r['accuracy']:.3f} (UAR {r['uar']:.3f}, chance {r['chance']:.3f})"
                            for c, r in e["per_corpus"].items() if c != "all")
        print(f"held out  {protocol}: {figures}")
    companion = Path(args.companion) if args.companion else bundled_companion()
    if card.speaker_norm is None and companion.is_file():
        block = load_card(companion).speaker_norm or {}
        print(f"adapts    with {companion.name} ({companion.stat().st_size / 1024:.0f} KB, speaker-normalised): "
              f"joins after {block.get('enrol_windows')} utterances of one voice, weight "
              f"{block.get('weight', 0):.2f} (listen; classify --same-speaker)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m edge_runtime",
                                     description="Speech emotion recognition on small devices (TFLite + numpy).")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--model", default=None,
                        help="'int8' (default), 'float32', or a .tflite path with its model.json beside it")
    common.add_argument("--threads", type=_number(int, 1, MAX_THREADS, "--threads"), default=None,
                        help=f"interpreter threads, 1-{MAX_THREADS} (default: runtime's)")
    common.add_argument("--backend", choices=("ai_edge_litert", "tflite_runtime"), default=None,
                        help="interpreter package (default: ai_edge_litert if installed)")
    common.add_argument("--no-speech-check", action="store_true",
                        help="classify tones, hum and noise too instead of answering 'no speech'")
    adapting = argparse.ArgumentParser(add_help=False)
    adapting.add_argument("--speaker-stats", default=None, metavar="JSON",
                          help="a speaker's statistics: read if the file exists, written at the end (a device "
                               "keeps its user across restarts)")
    adapting.add_argument("--companion", default=None, metavar="TFLITE",
                          help="the speaker-adapted model (trained with the companion recipe; default: the bundled one)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("classify", parents=[common, adapting], help="classify audio files or folders",
                       formatter_class=HelpFormatter)
    p.add_argument("paths", nargs="+", help="audio files, or folders searched recursively")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.add_argument("--segments", action="store_true",
                   help="long recordings: emotion over time, one segment per utterance cut at its pauses, silence "
                        "between (any length, bounded memory)")
    p.add_argument("--windows", action="store_true",
                   help="with --segments: sliding windows every --hop seconds instead of utterances")
    p.add_argument("--hop", type=_number(float, *HOP_RANGE, "--hop"), default=DEFAULT_HOP,
                   help="with --segments --windows: seconds between windows")
    p.add_argument("--csv", default=None, metavar="PATH", help="with --segments: also write the segments as CSV")
    p.add_argument("--same-speaker", action="store_true",
                   help="the files are one person's: hear them all first, then classify each adapted to that "
                        "voice (needs 10 or more files; with --segments, adapts as the recording goes, utterance "
                        "by utterance; docs/device.md)")
    p.add_argument("--quiet", action="store_true", help="no progress bar (--segments, --same-speaker)")
    p.add_argument("--max-seconds", type=_number(float, 0.1, 1e6, "--max-seconds"), default=MAX_FILE_SECONDS,
                   help="refuse longer files (one utterance is expected)")
    p.set_defaults(func=cmd_classify)

    p = sub.add_parser("listen", parents=[common, adapting], help="classify a live microphone (or a replayed file)",
                       formatter_class=HelpFormatter)
    p.add_argument("--list-devices", action="store_true", help="list input devices and exit")
    p.add_argument("--device", default=None, help="input device index or name (default: system default)")
    p.add_argument("--rate", type=_number(int, MIN_RATE, MAX_RATE, "--rate"), default=None,
                   help="capture rate (default: the device's native rate)")
    p.add_argument("--input", default=None, help="replay this file through the streaming path instead")
    p.add_argument("--fast", action="store_true", help="with --input: as fast as possible, not real time")
    p.add_argument("--hop", type=_number(float, *HOP_RANGE, "--hop"), default=StreamConfig.hop_seconds,
                   help=f"seconds between windows, {HOP_RANGE[0]:g}-{HOP_RANGE[1]:g}")
    p.add_argument("--smoothing", type=_number(int, 1, 100, "--smoothing"), default=StreamConfig.smoothing,
                   help="speech windows averaged")
    p.add_argument("--vad-db", type=_number(float, -120, 0, "--vad-db"), default=StreamConfig.vad_db,
                   help="absolute speech floor in dBFS (frame RMS)")
    p.add_argument("--duration", type=_number(float, 0, 1e7, "--duration"), default=None,
                   help="stop after this many seconds of audio")
    p.add_argument("--json", action="store_true", help="one JSON object per window")
    p.add_argument("--windows", action="store_true",
                   help="a line per window (every --hop seconds) instead of one per utterance as it ends")
    p.add_argument("--no-adapt", action="store_true",
                   help="do not adapt to the speaker (by default the speaker-normalised model joins once 10 "
                        "utterances, cut at the pauses, have been heard)")
    p.set_defaults(func=cmd_listen)

    p = sub.add_parser("info", parents=[common, adapting], help="describe the model")
    p.set_defaults(func=cmd_info)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ModelError, InterpreterUnavailable, MicrophoneError, AudioFileError, SampleRateError, OutputError) as err:
        _err(str(err))
        return EXIT_USAGE
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
