"""Which corpora a run reads, from where, and the generic ``ROOT/<emotion>/*`` layout.

A source is ``KIND=PATH`` (the form of ``python -m train --data``):

* ``ravdess=PATH`` — RAVDESS by file name (``Actor_XX/03-0V-EE-...``); speech
  clips form corpus ``ravdess``, sung ones ``ravdess-song`` (``ravdess-song=PATH``
  reads the same way, for a folder that holds only song);
* ``crema-d=PATH`` — CREMA-D by file name (``1001_DFA_ANG_XX``);
* ``folder=PATH`` — your own recordings, ``PATH/<emotion>/*.wav|flac|ogg|opus|mp3``
  with ``<emotion>`` one of the 8 labels; the corpus is named after the
  folder, and the speaker is the file name up to its first ``_`` (``anna_01.wav``
  is speaker ``anna``; a name without ``_`` counts as the folder's one speaker).

Without any source, every shared folder that exists is read:
``../shared/data/{ravdess,ravdess-song,crema-d}`` beside the checkout
(``$RAVDESS_DIR`` still overrides the RAVDESS folder).
"""
from __future__ import annotations

import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional, Sequence

from edge_runtime.config import EMOTIONS

from . import cremad, ravdess
from .clips import Clip, DatasetError

KINDS = ("ravdess", "ravdess-song", "crema-d", "folder")
FOLDER_SUFFIXES = (".wav", ".flac", ".ogg", ".opus", ".mp3")
#: Licence of each published corpus (a model trained on one inherits its terms; see README).
LICENCES = {"ravdess": "CC BY-NC-SA 4.0 (Livingstone & Russo 2018)",
            "ravdess-song": "CC BY-NC-SA 4.0 (Livingstone & Russo 2018)",
            "crema-d": "ODbL 1.0 / Database Contents License 1.0 (Cao et al. 2014)"}
#: The shared folders read when no source is named, in this order.
SHARED_FOLDERS = ("ravdess", "ravdess-song", "crema-d")


@dataclass(frozen=True)
class Source:
    """One ``KIND=PATH`` source."""

    kind: str
    root: Path

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise DatasetError(f"unknown corpus kind {self.kind!r}; choose one of {', '.join(KINDS)}")

    @classmethod
    def parse(cls, text: str) -> "Source":
        """``"crema-d=/data/CREMA-D/AudioWAV"`` -> ``Source("crema-d", Path(...))``; a bare path is RAVDESS.

        >>> Source.parse("crema-d=/data/cremad")
        Source(kind='crema-d', root=PosixPath('/data/cremad'))
        """
        kind, sep, path = text.partition("=")
        if not sep:
            return cls("ravdess", Path(text))
        if not path:
            raise DatasetError(f"--data {text!r}: no folder after '='")
        return cls(kind.strip().lower(), Path(path))

    def __str__(self) -> str:
        return f"{self.kind}={self.root}"


def shared_data_dir() -> Path:
    """``../shared/data`` beside the checkout (or beside the working directory)."""
    beside_checkout = Path(__file__).resolve().parents[2] / "shared" / "data"
    beside_cwd = Path.cwd().resolve().parent / "shared" / "data"
    return beside_checkout if beside_checkout.is_dir() or not beside_cwd.is_dir() else beside_cwd


def default_sources() -> list[Source]:
    """Every shared corpus folder that exists (``$RAVDESS_DIR`` replaces the RAVDESS one)."""
    shared = shared_data_dir()
    found = []
    for kind in SHARED_FOLDERS:
        root = ravdess.default_root() if kind == "ravdess" else shared / kind
        if root.is_dir():
            found.append(Source(kind, root))
    if not found:
        raise DatasetError(f"no corpus found in {shared}; name one with --data KIND=PATH "
                           f"(KIND one of {', '.join(KINDS)})")
    return found


def scan_folder(root: Path) -> list[Clip]:
    """Clips of the generic layout ``root/<emotion>/*``; other sub-folders are skipped with a warning."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"folder not found: {root}")
    corpus = root.resolve().name
    clips, unknown = [], []
    for sub in sorted(p for p in root.iterdir() if p.is_dir()):
        if sub.name.lower() not in EMOTIONS:
            unknown.append(sub.name)
            continue
        for path in sorted(p for p in sub.rglob("*") if p.suffix.lower() in FOLDER_SUFFIXES and p.is_file()):
            clips.append(clip_at("folder", path, root))
    if unknown:
        warnings.warn(f"{root}: skipped sub-folder(s) not named after an emotion: {', '.join(unknown)} "
                      f"(expected {', '.join(EMOTIONS)})", stacklevel=2)
    if not clips:
        raise DatasetError(f"no clips found under {root}/<emotion>/ (emotion one of {', '.join(EMOTIONS)})")
    return clips


def scan_source(source: Source, include_song: bool = True) -> list[Clip]:
    """The clips of one source."""
    if source.kind in ("ravdess", "ravdess-song"):
        return ravdess.scan(source.root, include_song=include_song)
    if source.kind == "crema-d":
        return cremad.scan(source.root)
    return scan_folder(source.root)


def scan_sources(sources: Optional[Sequence[Source]] = None, include_song: bool = True) -> list[Clip]:
    """The clips of every source (default: :func:`default_sources`), each file once, sorted by path."""
    sources = list(sources) if sources else default_sources()
    seen, clips = set(), []
    for source in sources:
        for clip in scan_source(source, include_song):
            key = clip.path.resolve()
            if key not in seen:
                seen.add(key)
                clips.append(clip)
    return sorted(clips, key=lambda c: str(c.path))


def clip_at(kind: str, path: Path, root: Path) -> Clip:
    """The clip of file ``path`` in a ``kind`` source rooted at ``root`` (labels from its name or folder)."""
    if kind in ("ravdess", "ravdess-song"):
        return ravdess.parse_name(path)
    if kind == "crema-d":
        return cremad.parse_name(path)
    rel = Path(path).resolve().relative_to(Path(root).resolve())
    corpus, emotion = Path(root).resolve().name, rel.parts[0].lower()
    if emotion not in EMOTIONS:
        raise DatasetError(f"{path}: folder {rel.parts[0]!r} is not an emotion")
    who = Path(path).stem.split("_", 1)[0] if "_" in Path(path).stem else "all"
    return Clip(Path(path), EMOTIONS.index(emotion), corpus, f"{corpus}/{who}")


def resolve_ref(ref: str, sources: Sequence[Source]) -> Clip:
    """The clip a run folder names as ``"KIND:relative/path"`` (see ``train.trainer.clip_ref``), found under the
    first source of that kind; any other path is tried against every source in turn."""
    kind, sep, rel = ref.partition(":")
    if sep and kind in KINDS:
        for s in sources:
            if s.kind == kind:
                return clip_at(kind, s.root / rel, s.root)
        raise DatasetError(f"{ref}: no {kind} folder given (--data {kind}=PATH)")
    for s in sources:   # an absolute path, or one relative to a source's root (run folders of before several corpora)
        path = Path(ref) if Path(ref).is_absolute() else s.root / ref
        try:
            return clip_at(s.kind, path, s.root)
        except (DatasetError, ValueError):
            continue
    raise DatasetError(f"{ref}: not a clip of any source")


def corpus_counts(clips: Iterable[Clip]) -> dict[str, dict[str, int]]:
    """``{corpus: {emotion: clips}}``, labels in the device's order, for logs and run folders."""
    counts = Counter((c.corpus, c.label) for c in clips)
    return {corpus: {e: counts[corpus, e] for e in EMOTIONS if counts[corpus, e]}
            for corpus in sorted({k[0] for k in counts})}
