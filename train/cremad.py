"""CREMA-D file names and folders.

Expected layout: the corpus's ``AudioWAV/`` folder (or the shared copy in Ogg
Opus), flat::

    ROOT/1001_DFA_ANG_XX.wav   (or .opus / .flac / .ogg)

A name is ``AAAA_SSS_EEE_LL``: actor (1001-1091), sentence code, emotion
(ANG, DIS, FEA, HAP, NEU, SAD) and level (LO, MD, HI, XX unspecified).
CREMA-D has no calm and no surprised.
"""
from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Union

from edge_runtime.config import EMOTIONS

from .clips import Clip, DatasetError

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".opus")
EMOTION_CODES = {"NEU": "neutral", "HAP": "happy", "SAD": "sad", "ANG": "angry", "FEA": "fearful",
                 "DIS": "disgust"}
_LEVELS = {"LO": 1, "MD": 1, "HI": 2, "XX": 0}
_NAME = re.compile(r"^(\d{4})_([A-Z]{3})_([A-Z]{3})_([A-Z]{2})$")
#: Clips of the published corpus that hold no usable audio, skipped by name.
KNOWN_BAD = {"1076_MTI_SAD_XX": "silent in the published corpus"}


def parse_name(path: Union[str, Path]) -> Clip:
    """The :class:`~train.clips.Clip` a CREMA-D file name describes.

    >>> c = parse_name("AudioWAV/1012_IEO_HAP_HI.wav")
    >>> c.label, c.corpus, c.speaker, c.intensity
    ('happy', 'crema-d', 'crema-d/1012', 2)
    """
    path = Path(path)
    m = _NAME.match(path.stem)
    if not m or path.suffix.lower() not in AUDIO_SUFFIXES:
        raise DatasetError(f"not a CREMA-D audio file name: {path.name}")
    actor, _, emotion, level = m.groups()
    if emotion not in EMOTION_CODES:
        raise DatasetError(f"unknown CREMA-D emotion code {emotion} in {path.name}")
    if level not in _LEVELS:
        raise DatasetError(f"unknown CREMA-D level {level} in {path.name}")
    return Clip(path, EMOTIONS.index(EMOTION_CODES[emotion]), "crema-d", f"crema-d/{actor}", _LEVELS[level])


def scan(root: Union[str, Path]) -> list[Clip]:
    """List the CREMA-D clips under ``root`` (recursively), sorted by path.

    Known-bad clips (:data:`KNOWN_BAD`) are skipped and named in a warning;
    audio files with other names are skipped with one warning that counts them.
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"CREMA-D folder not found: {root}")
    clips, bad, known = [], [], []
    for path in sorted(p for p in root.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES):
        if path.stem in KNOWN_BAD:
            known.append(f"{path.name} ({KNOWN_BAD[path.stem]})")
            continue
        try:
            clips.append(parse_name(path))
        except DatasetError as err:
            bad.append(str(err))
    if known:
        warnings.warn(f"skipped known-bad CREMA-D clip(s): {', '.join(known)}", stacklevel=2)
    if bad:
        warnings.warn(f"skipped {len(bad)} file(s) with non-CREMA-D names, e.g. {bad[0]}", stacklevel=2)
    if not clips:
        raise DatasetError(f"no CREMA-D clips (names like 1001_DFA_ANG_XX.wav) found under {root}")
    return clips
