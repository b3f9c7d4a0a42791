"""RAVDESS file names and folders: parse labels and actors, list the clips.

Expected layout (the official Zenodo download, unzipped, or the shared copy)::

    ROOT/Actor_01/03-01-05-02-01-01-01.wav   (or .flac, any sample rate)
    ROOT/Actor_02/...

A file name is ``MM-VV-EE-II-SS-RR-AA``: modality (03 audio-only), vocal
channel (01 speech, 02 song), emotion (01..08), intensity (01 normal, 02
strong), statement (01, 02), repetition (01, 02), actor (01..24; odd male).
"""
from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional, Union

from edge_runtime.config import EMOTIONS

from .clips import Clip, DatasetError

AUDIO_SUFFIXES = (".wav", ".flac")
ENV_VAR = "RAVDESS_DIR"
_NAME = re.compile(r"^(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)$")


@dataclass(frozen=True)
class RavdessName:
    """Every field a RAVDESS file name encodes."""

    path: Path
    modality: int
    vocal_channel: int
    emotion: int  # 0-based index into EMOTIONS
    intensity: int
    statement: int
    repetition: int
    actor: int

    @property
    def is_male(self) -> bool:
        """RAVDESS actors with odd numbers are male."""
        return self.actor % 2 == 1

    def clip(self) -> Clip:
        """The corpus-neutral :class:`~train.clips.Clip`: corpus ``ravdess`` (speech) or ``ravdess-song``,
        speaker ``ravdess/AA`` for both."""
        corpus = "ravdess" if self.vocal_channel == 1 else "ravdess-song"
        return Clip(self.path, self.emotion, corpus, f"ravdess/{self.actor:02d}", self.intensity)


def parse_fields(path: Union[str, Path]) -> RavdessName:
    """Parse a RAVDESS file name into all its fields.

    >>> n = parse_fields("Actor_12/03-01-05-02-01-01-12.wav")
    >>> EMOTIONS[n.emotion], n.actor, n.intensity, n.is_male
    ('angry', 12, 2, False)
    """
    path = Path(path)
    m = _NAME.match(path.stem)
    if not m or path.suffix.lower() not in AUDIO_SUFFIXES:
        raise DatasetError(f"not a RAVDESS audio file name: {path.name}")
    mod, voc, emo, inten, stat, rep, actor = (int(g) for g in m.groups())
    if not 1 <= emo <= len(EMOTIONS):
        raise DatasetError(f"unknown emotion code {emo:02d} in {path.name}")
    if voc not in (1, 2):
        raise DatasetError(f"unknown vocal channel {voc:02d} in {path.name}")
    if not 1 <= actor <= 99 or inten not in (1, 2):
        raise DatasetError(f"bad actor or intensity field in {path.name}")
    return RavdessName(path, mod, voc, emo - 1, inten, stat, rep, actor)


def parse_name(path: Union[str, Path]) -> Clip:
    """The :class:`~train.clips.Clip` a RAVDESS file name describes.

    >>> c = parse_name("Actor_12/03-02-05-02-01-01-12.flac")
    >>> c.label, c.corpus, c.speaker, c.intensity
    ('angry', 'ravdess-song', 'ravdess/12', 2)
    """
    return parse_fields(path).clip()


def default_root() -> Path:
    """``$RAVDESS_DIR`` if set, else ``../shared/data/ravdess`` beside the checkout."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env)
    beside_checkout = Path(__file__).resolve().parents[2] / "shared" / "data" / "ravdess"
    beside_cwd = Path.cwd().resolve().parent / "shared" / "data" / "ravdess"
    return beside_checkout if beside_checkout.is_dir() or not beside_cwd.is_dir() else beside_cwd


def scan(root: Optional[Union[str, Path]] = None, *, include_song: bool = True,
         actors: Optional[Iterable[int]] = None) -> list[Clip]:
    """List the RAVDESS clips under ``root`` (recursively), sorted by path.

    Speech clips get corpus ``ravdess``, song clips ``ravdess-song``. Files
    that are not audio are ignored; audio files whose names are not RAVDESS
    names are skipped with one warning that counts them.
    """
    root = Path(root) if root is not None else default_root()
    if not root.is_dir():
        raise DatasetError(f"dataset folder not found: {root} (set --data or ${ENV_VAR})")
    wanted = set(actors) if actors is not None else None
    clips, bad = [], []
    for path in sorted(p for p in root.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES):
        try:
            name = parse_fields(path)
        except DatasetError as err:
            bad.append(str(err))
            continue
        if (not include_song and name.vocal_channel == 2) or (wanted is not None and name.actor not in wanted):
            continue
        clips.append(name.clip())
    if bad:
        warnings.warn(f"skipped {len(bad)} file(s) with non-RAVDESS names, e.g. {bad[0]}", stacklevel=2)
    if not clips:
        raise DatasetError(f"no RAVDESS clips (names like 03-01-05-02-01-01-12.wav) found under {root}")
    return clips
