"""Where live audio comes from: a microphone (sounddevice) or a file replayed in blocks.

Both yield float32 mono chunks at their native rate; neither holds more than a
few blocks in memory, so an hour-long replay runs in flat memory.
"""
from __future__ import annotations

import queue
import time
from pathlib import Path
from typing import Iterator, Optional, Union

import numpy as np

from .audio import AudioFileError, audio_info, wav_shortfall

BLOCK_SECONDS = 0.1


class MicrophoneError(Exception):
    """No usable input device, or the device stopped delivering audio."""


def _sounddevice():
    try:
        import sounddevice as sd
    except ImportError:
        raise MicrophoneError("sounddevice is not installed: pip install 'speech-emotion-edge[mic]'") from None
    except OSError as err:  # the PortAudio library itself is missing
        raise MicrophoneError(f"PortAudio is missing ({err}); on Debian/Raspberry Pi OS: "
                              "sudo apt install libportaudio2") from None
    return sd


def list_input_devices() -> list[dict]:
    """Input devices as ``{"index", "name", "channels", "default_samplerate", "default"}``."""
    sd = _sounddevice()
    try:
        devices = sd.query_devices()
        default_in = sd.default.device[0]
    except Exception as err:
        raise MicrophoneError(f"cannot list audio devices ({err})") from None
    return [{"index": i, "name": d["name"], "channels": d["max_input_channels"],
             "default_samplerate": d["default_samplerate"], "default": i == default_in}
            for i, d in enumerate(devices) if d["max_input_channels"] > 0]


class FileSource:
    """Replay a file block by block, at real speed or as fast as possible (``realtime=False``).

    ``tail_seconds`` of silence follow the file, as a microphone would hear
    after the speaker stops, so the last words pass through a whole window.
    """

    def __init__(self, path: Union[str, Path], realtime: bool = True, block_seconds: float = BLOCK_SECONDS,
                 tail_seconds: float = 0.0) -> None:
        self.path = Path(path)
        self.samplerate, self.frames, _ = audio_info(self.path)
        self.realtime = realtime
        self.blocksize = max(1, int(self.samplerate * block_seconds))
        self.tail_blocks = int(np.ceil(tail_seconds / block_seconds)) if tail_seconds > 0 else 0
        self.overflows = 0
        self.missing_frames = 0     # after the file is read: frames its header promised that were not there

    def _blocks(self) -> Iterator[np.ndarray]:
        import soundfile as sf

        done = 0
        for block in sf.blocks(str(self.path), blocksize=self.blocksize, dtype="float32", always_2d=True):
            if not np.all(np.isfinite(block)):
                raise AudioFileError(f"{self.path}: audio holds NaN or infinite samples "
                                     f"(at {done / self.samplerate:.1f} s)")
            done += len(block)
            yield block.mean(axis=1)
        self.missing_frames = max(self.frames - done, wav_shortfall(self.path))
        for _ in range(self.tail_blocks):
            yield np.zeros(self.blocksize, dtype=np.float32)

    def __iter__(self) -> Iterator[np.ndarray]:
        start = time.perf_counter()
        done = 0
        try:
            for block in self._blocks():
                done += len(block)
                if self.realtime:
                    delay = done / self.samplerate - (time.perf_counter() - start)
                    if delay > 0:
                        time.sleep(delay)
                yield block
        except AudioFileError:
            raise
        except Exception as err:  # soundfile raises several types
            reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise AudioFileError(f"{self.path}: cannot decode audio after {done / self.samplerate:.1f} s "
                                 f"({reason})") from None


class MicrophoneSource:
    """Capture from an input device at its native rate; use as a context manager, iterate for chunks.

    Blocks are handed from the audio thread through a bounded queue; a full
    queue or a PortAudio input overflow is counted in :attr:`overflows`, never
    fatal. No audio for ``timeout`` seconds raises :class:`MicrophoneError`.
    """

    def __init__(self, device: Optional[Union[int, str]] = None, samplerate: Optional[int] = None,
                 block_seconds: float = BLOCK_SECONDS, timeout: float = 5.0, max_queued: int = 50) -> None:
        self.sd = _sounddevice()
        try:
            info = self.sd.query_devices(device, "input")
        except Exception as err:
            if device is None:
                raise MicrophoneError("no microphone found (the system has no default input device); plug one in, "
                                      "or name one with --device (see --list-devices)") from None
            raise MicrophoneError(f"no input device {device!r} ({str(err).strip().splitlines()[0]}); "
                                  f"see --list-devices") from None
        self.device_name = info["name"]
        self.samplerate = int(samplerate or info["default_samplerate"])
        self.channels = 1
        self.blocksize = max(1, int(self.samplerate * block_seconds))
        self.timeout = timeout
        self.device = device
        self.overflows = 0
        self._queue: queue.Queue = queue.Queue(maxsize=max_queued)
        self._stream = None

    def _callback(self, indata, frames, time_info, status) -> None:
        if status and status.input_overflow:
            self.overflows += 1
        try:
            self._queue.put_nowait(indata[:, 0].copy())
        except queue.Full:
            self.overflows += 1

    def __enter__(self) -> "MicrophoneSource":
        try:
            self._stream = self.sd.InputStream(device=self.device, samplerate=self.samplerate, channels=1,
                                               dtype="float32", blocksize=self.blocksize, callback=self._callback)
            self._stream.start()
        except Exception as err:
            raise MicrophoneError(f"cannot open input device {self.device_name!r} at {self.samplerate} Hz "
                                  f"({str(err).strip().splitlines()[0]})") from None
        return self

    def __exit__(self, *exc) -> None:
        if self._stream is not None:
            try:
                self._stream.stop()
                self._stream.close()
            except Exception:
                pass
            self._stream = None

    def __iter__(self) -> Iterator[np.ndarray]:
        while True:
            try:
                yield self._queue.get(timeout=self.timeout)
            except queue.Empty:
                raise MicrophoneError(f"no audio from {self.device_name!r} for {self.timeout:g} s "
                                      "(unplugged or muted?)") from None
