"""Reading audio files for training: the device's own reader and resampler.

Training decodes and resamples with :mod:`edge_runtime.audio`, so a 44.1 or
48 kHz download goes through exactly the code that runs on the device.
"""
from edge_runtime.audio import AudioFileError as AudioReadError
from edge_runtime.audio import load_audio

__all__ = ["AudioReadError", "load_audio"]
