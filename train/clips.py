"""One labelled recording, whatever corpus it comes from."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from edge_runtime.config import EMOTIONS


class DatasetError(Exception):
    """A user-facing problem with the dataset (missing folder, no clips, bad name)."""


@dataclass(frozen=True)
class Clip:
    """One recording: its file, its emotion, the corpus it belongs to and who speaks.

    ``speaker`` is unique across corpora (``"ravdess/12"``, ``"crema-d/1001"``);
    the same person in two corpora has one id (RAVDESS actor 12's speech and
    song are both ``"ravdess/12"``), so splits can keep a voice on one side.
    """

    path: Path
    emotion: int          # 0-based index into EMOTIONS
    corpus: str           # "ravdess", "ravdess-song", "crema-d", or a folder corpus's name
    speaker: str
    intensity: int = 0    # 0 unknown, 1 normal, 2 strong (RAVDESS); CREMA-D LO/MD/HI -> 1/1/2

    @property
    def label(self) -> str:
        """Emotion name, e.g. ``"angry"``."""
        return EMOTIONS[self.emotion]

    @property
    def stem(self) -> str:
        """The file name without folder or suffix."""
        return self.path.stem

    @property
    def family(self) -> str:
        """The part of ``speaker`` before the slash: the recordings' origin (RAVDESS speech and song share one)."""
        return self.speaker.split("/", 1)[0]
