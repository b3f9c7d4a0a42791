"""Parallel, cached feature extraction for (clip, variant) jobs.

The cache lives in ``cache/features/clean-<key>/`` for clean clips, where
``key`` hashes the feature config (and so the pipeline version), and in
``cache/features/<key>/`` for augmented copies, where ``key`` also hashes the
augmentation config; inside, one ``.npy`` per job named by the clip, the
variant and a fingerprint of the audio file's bytes, so the cache survives a corpus copied, moved or
touched (a fresh checkout beside a fresh copy of ``../shared``) and is missed only when the audio
itself changes. A second run with the same configuration reads every job back instead of recomputing it.
"""
from __future__ import annotations

import hashlib
import multiprocessing as mp
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from edge_runtime.config import FeatureConfig
from edge_runtime.preprocess import SilentAudioError, fit_window, normalise_peak, speech_span

from .audio import AudioReadError, load_audio
from .augment import AugmentConfig, augment, variant_rng
from .clips import Clip
from .features import window_features

DEFAULT_CACHE = Path(__file__).resolve().parents[1] / "cache" / "features"


@dataclass(frozen=True)
class Job:
    """One feature matrix to compute: a clip, possibly augmented."""

    clip: Clip
    variant: str = "clean"


@dataclass
class FeatureSet:
    """Features of the jobs that succeeded, with their labels and sources."""

    x: np.ndarray          # (n, n_frames, n_features) float32
    y: np.ndarray          # (n,) int emotion index
    jobs: list[Job]        # the source of each row
    skipped: list[str]     # one-line reason per job that failed
    computed: int = 0      # jobs computed in this call (the rest came from the cache)

    @property
    def corpus(self) -> np.ndarray:
        """The corpus of each row (object array, for per-corpus reports)."""
        return corpora_of(self.jobs)


def corpora_of(jobs: Sequence[Job]) -> np.ndarray:
    """The corpus name of each job's clip, as an object array."""
    return np.array([j.clip.corpus for j in jobs], dtype=object)


def ref_features(refs: Sequence[str], sources, config: FeatureConfig, cache_root: Optional[Path] = None,
                 progress: bool = False) -> FeatureSet:
    """Clean features of the clips a run folder names (``split.json``'s ``KIND:relative/path`` strings),
    found under ``sources`` (see :func:`train.corpora.resolve_ref`), through the cache."""
    from .corpora import resolve_ref

    return extract_features([Job(resolve_ref(r, sources)) for r in refs], config, cache_root=cache_root,
                            progress=progress)


def cache_dir_for(config: FeatureConfig, aug: Optional[AugmentConfig] = None, root: Optional[Path] = None) -> Path:
    """The cache folder of augmented features for this pair of configurations; with ``aug=None``, the folder of
    clean features, which depend on the feature configuration alone (any run, converter or benchmark shares them)."""
    key = hashlib.sha256((config.to_json() + (aug.to_json() if aug else "")).encode()).hexdigest()[:16]
    return Path(root or DEFAULT_CACHE) / (key if aug else f"clean-{key}")


def file_fingerprint(path: Path) -> str:
    """12 hex digits of the BLAKE2b digest of a file's bytes (independent of its path and modification time)."""
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:12]


def job_filename(job: Job, fingerprint: str) -> str:
    """Cache file name: clip name, variant and the :func:`file_fingerprint` of the audio file."""
    return f"{job.clip.stem}.{job.variant}.{fingerprint}.npy"


def compute_job(job: Job, config: FeatureConfig, aug: AugmentConfig) -> np.ndarray:
    """Load, trim, augment, normalise, fit and featurise one job."""
    audio = load_audio(job.clip.path, config.sample_rate)
    speech = speech_span(audio, config)
    rng = variant_rng(aug.seed, job.clip.stem, job.variant)
    speech = augment(speech, config.sample_rate, job.variant, rng, aug)
    window = fit_window(normalise_peak(speech, config), config.window_samples)
    return window_features(window, config)


def _worker(args: tuple[int, Job, FeatureConfig, AugmentConfig, str]) -> tuple[int, Optional[np.ndarray], str]:
    i, job, config, aug, target = args
    try:
        feats = compute_job(job, config, aug)
    except (AudioReadError, SilentAudioError) as err:
        return i, None, f"{job.clip.path}: {err}"
    except Exception as err:  # a single bad clip must not stop a long extraction
        return i, None, f"{job.clip.path}: {type(err).__name__}: {err}"
    tmp = f"{target}.{os.getpid()}.tmp.npy"
    np.save(tmp, feats)
    os.replace(tmp, target)
    return i, feats, ""


def extract_features(jobs: Sequence[Job], config: FeatureConfig, aug: Optional[AugmentConfig] = None,
                     cache_root: Optional[Path] = None, workers: Optional[int] = None,
                     progress: bool = True, desc: str = "features") -> FeatureSet:
    """Features for ``jobs``, from the cache where present, else computed in parallel.

    Jobs that fail (unreadable or silent clips) are left out with a warning
    naming the first and counting all; their reasons are in ``skipped``.
    """
    from tqdm.auto import tqdm

    aug = aug or AugmentConfig()
    folders = {"clean": cache_dir_for(config, None, cache_root), "augmented": cache_dir_for(config, aug, cache_root)}
    for kind, folder in folders.items():
        if kind == "clean" or any(j.variant != "clean" for j in jobs):
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "feature_config.json").write_text(config.to_json())
            if kind == "augmented":
                (folder / "augment_config.json").write_text(aug.to_json())

    results: dict[int, np.ndarray] = {}
    todo: list[tuple] = []
    fingerprints: dict[Path, str] = {}   # each file is read once, however many variants it has
    for i, job in enumerate(jobs):
        if job.clip.path not in fingerprints:
            fingerprints[job.clip.path] = file_fingerprint(job.clip.path)
        target = folders["clean" if job.variant == "clean" else "augmented"] / job_filename(
            job, fingerprints[job.clip.path])
        if target.exists():
            results[i] = np.load(target)
        else:
            todo.append((i, job, config, aug, str(target)))

    skipped: list[str] = []
    if todo:
        workers = workers or max(1, min(os.cpu_count() or 1, len(todo)))
        bar = tqdm(total=len(todo), desc=f"{desc} ({len(jobs) - len(todo)} cached)", unit="clip",
                   disable=not progress)
        pool = mp.get_context("spawn").Pool(workers) if workers > 1 else None
        outputs = pool.imap_unordered(_worker, todo, chunksize=4) if pool else map(_worker, todo)
        try:
            for i, feats, reason in outputs:
                if feats is None:
                    skipped.append(reason)
                else:
                    results[i] = feats
                bar.update()
        except BaseException:
            if pool:
                pool.terminate()  # finished jobs are already in the cache
            raise
        finally:
            bar.close()
            if pool:
                pool.close()
                pool.join()
    if skipped:
        warnings.warn(f"skipped {len(skipped)} clip(s) that could not be featurised, e.g. {skipped[0]}",
                      stacklevel=2)
    order = sorted(results)
    x = np.stack([results[i] for i in order]) if order else np.zeros((0, config.n_frames, config.n_features), np.float32)
    y = np.array([jobs[i].clip.emotion for i in order], dtype=np.int64)
    return FeatureSet(x=x, y=y, jobs=[jobs[i] for i in order], skipped=skipped, computed=len(todo))
