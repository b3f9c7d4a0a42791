"""Which corpora a run reads, from where, and the generic ``ROOT/<emotion>/*`` layout.

A source is ``KIND=PATH`` (the form of ``python -m train --data``):

* ``ravdess=PATH`` — RAVDESS by file name (``Actor_XX/03-0V-EE-...``); speech
  clips form corpus ``ravdess``, sung ones ``ravdess-song`` (``ravdess-song=PATH``
  reads the same way, for a folder that holds only song);
* ``crema-d=PATH`` — CREMA-D by file name (``1001_DFA_ANG_XX``);
* ``folder=PATH`` — your own recordings, ``PATH/<emotion>/*.wav|flac|ogg|opus|mp3``
  with ``<emotion>`` one of the 8 labels; the corpus is named after the
  folder, and the speaker is the file name up to its first ``_`` (``anna_01.wav``
  is speaker ``anna``; a name without ``_`` counts as the folder's one speaker);
* ``NAME=PATH`` — the same generic layout, the corpus named ``NAME`` whatever the folder is called.

Without any source, every shared folder that exists is read:
``../shared/data/{ravdess,ravdess-song,crema-d,ased,emovo,turev}`` beside the checkout
(``$RAVDESS_DIR`` still overrides the RAVDESS folder); the last three are generic folders.
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

#: Corpora read by their own file names; any other name in ``NAME=PATH`` is a generic folder called ``NAME``.
NAMED_KINDS = ("ravdess", "ravdess-song", "crema-d")
KINDS = (*NAMED_KINDS, "folder")
FOLDER_SUFFIXES = (".wav", ".flac", ".ogg", ".opus", ".mp3")
#: Licence of each published corpus (a model trained on one inherits its terms; see README).
LICENCES = {"ravdess": "CC BY-NC-SA 4.0 (Livingstone & Russo 2018)",
            "ravdess-song": "CC BY-NC-SA 4.0 (Livingstone & Russo 2018)",
            "crema-d": "ODbL 1.0 / Database Contents License 1.0 (Cao et al. 2014)",
            "ased": "research use, citation requested (Retta et al. 2022)",
            "emovo": "research use, citation requested (Costantini et al. 2014)",
            "turev": "CC BY-NC-ND 4.0 (Canpolat et al. 2020)"}
#: The shared folders read when no source is named, in this order (after the named kinds, generic folders).
SHARED_FOLDERS = ("ravdess", "ravdess-song", "crema-d", "ased", "emovo", "turev")


@dataclass(frozen=True)
class Source:
    """One ``KIND=PATH`` source; ``name`` names a generic folder's corpus (default: the folder's name)."""

    kind: str
    root: Path
    name: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise DatasetError(f"unknown corpus kind {self.kind!r}; choose one of {', '.join(KINDS)}")
        if self.kind != "folder" and self.name:
            raise DatasetError(f"only a generic folder takes a corpus name ({self.kind} is named by its files)")
        if self.kind == "folder" and not self.name:
            object.__setattr__(self, "name", Path(self.root).resolve().name)

    @property
    def corpus(self) -> str:
        """The corpus name its clips carry in logs, reports and clip references (a generic folder's name)."""
        return self.name if self.kind == "folder" else self.kind

    @classmethod
    def parse(cls, text: str) -> "Source":
        """``"crema-d=/data/CREMA-D/AudioWAV"`` -> ``Source("crema-d", Path(...))``; a bare path is RAVDESS; a
        name other than :data:`KINDS` is a generic folder with that corpus name.

        >>> Source.parse("crema-d=/data/cremad")
        Source(kind='crema-d', root=PosixPath('/data/cremad'), name='')
        >>> Source.parse("savee=/data/SAVEE/by-emotion").corpus
        'savee'
        """
        kind, sep, path = text.partition("=")
        if not sep:
            return cls("ravdess", Path(text))
        if not path:
            raise DatasetError(f"--data {text!r}: no folder after '='")
        kind = kind.strip().lower()
        if kind in KINDS:
            return cls(kind, Path(path))
        if not kind or any(ch in kind for ch in "/:\\ "):
            raise DatasetError(f"--data {text!r}: a corpus name has no '/', ':' or spaces")
        return cls("folder", Path(path), kind)

    def __str__(self) -> str:
        if self.kind == "folder" and self.name != Path(self.root).resolve().name:
            return f"{self.name}={self.root}"
        return f"{self.kind}={self.root}"


def shared_data_dir() -> Path:
    """``../shared/data`` beside the checkout (or beside the working directory)."""
    beside_checkout = Path(__file__).resolve().parents[2] / "shared" / "data"
    beside_cwd = Path.cwd().resolve().parent / "shared" / "data"
    return beside_checkout if beside_checkout.is_dir() or not beside_cwd.is_dir() else beside_cwd


def default_sources(names: Sequence[str] = SHARED_FOLDERS) -> list[Source]:
    """The shared corpus folders ``names`` that exist (``$RAVDESS_DIR`` replaces the RAVDESS one); a missing
    one is a warning, none at all an error."""
    shared = shared_data_dir()
    found, missing = [], []
    for name in names:
        root = ravdess.default_root() if name == "ravdess" else shared / name
        if root.is_dir():
            found.append(Source(name if name in NAMED_KINDS else "folder", root))
        else:
            missing.append(name)
    if not found:
        raise DatasetError(f"no corpus found in {shared} (looked for {', '.join(names)}); name one with "
                           f"--data KIND=PATH (KIND one of {', '.join(KINDS)}, or a corpus name)")
    if missing:
        warnings.warn(f"corpus folder(s) not found in {shared}: {', '.join(missing)}; training without them",
                      stacklevel=2)
    return found


def scan_folder(root: Path, corpus: str = "") -> list[Clip]:
    """Clips of the generic layout ``root/<emotion>/*`` (corpus ``corpus``, default the folder's name); other
    sub-folders are skipped with a warning."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"folder not found: {root}")
    clips, unknown = [], []
    for sub in sorted(p for p in root.iterdir() if p.is_dir()):
        if sub.name.lower() not in EMOTIONS:
            unknown.append(sub.name)
            continue
        for path in sorted(p for p in sub.rglob("*") if p.suffix.lower() in FOLDER_SUFFIXES and p.is_file()):
            clips.append(clip_at("folder", path, root, corpus))
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
    return scan_folder(source.root, source.name)


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


def clip_at(kind: str, path: Path, root: Path, corpus: str = "") -> Clip:
    """The clip of file ``path`` in a ``kind`` source rooted at ``root`` (labels from its name or folder; a generic
    folder's corpus is ``corpus``, default the folder's name)."""
    if kind in ("ravdess", "ravdess-song"):
        return ravdess.parse_name(path)
    if kind == "crema-d":
        return cremad.parse_name(path)
    rel = Path(path).resolve().relative_to(Path(root).resolve())
    corpus, emotion = corpus or Path(root).resolve().name, rel.parts[0].lower()
    if emotion not in EMOTIONS:
        raise DatasetError(f"{path}: folder {rel.parts[0]!r} is not an emotion")
    who = Path(path).stem.split("_", 1)[0] if "_" in Path(path).stem else "all"
    return Clip(Path(path), EMOTIONS.index(emotion), corpus, f"{corpus}/{who}")


def resolve_ref(ref: str, sources: Sequence[Source]) -> Clip:
    """The clip a run folder names as ``"CORPUS:relative/path"`` (see ``train.trainer.clip_ref``), found under the
    source of that corpus (``folder:`` references of older runs: the first generic folder that holds the file);
    any other path is tried against every source in turn."""
    corpus, sep, rel = ref.partition(":")
    if sep and len(corpus) > 1:   # not a Windows drive letter
        for s in sources:
            if s.corpus == corpus or (corpus == "folder" == s.kind and (s.root / rel).is_file()):
                return clip_at(s.kind, s.root / rel, s.root, s.name)
        if corpus in ("ravdess", "ravdess-song"):   # one RAVDESS folder may hold both
            for s in sources:
                if s.kind in ("ravdess", "ravdess-song"):
                    return clip_at(s.kind, s.root / rel, s.root)
        raise DatasetError(f"{ref}: no {corpus} folder given (--data {corpus}=PATH)")
    for s in sources:   # an absolute path, or one relative to a source's root (run folders of before several corpora)
        path = Path(ref) if Path(ref).is_absolute() else s.root / ref
        try:
            return clip_at(s.kind, path, s.root, s.name)
        except (DatasetError, ValueError):
            continue
    raise DatasetError(f"{ref}: not a clip of any source")


def corpus_counts(clips: Iterable[Clip]) -> dict[str, dict[str, int]]:
    """``{corpus: {emotion: clips}}``, labels in the device's order, for logs and run folders."""
    counts = Counter((c.corpus, c.label) for c in clips)
    return {corpus: {e: counts[corpus, e] for e in EMOTIONS if counts[corpus, e]}
            for corpus in sorted({k[0] for k in counts})}
