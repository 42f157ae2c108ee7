"""The keyless voice's settings, its error, and the audio helpers its parts share (mono float32, resampling)."""

from __future__ import annotations

import importlib.util
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

import numpy as np

logger = logging.getLogger(__name__)

BUNDLED_STT_MODEL = "bundled:tiny.en"
VAD_SAMPLE_RATE = 16000
STT_SAMPLE_RATE = 16000
# Words Whisper tends to mishear in an SQL interview; a short prompt biases decoding towards them.
DEFAULT_STT_PROMPT = "SQL interview. SELECT, FROM, WHERE, JOIN, GROUP BY, ORDER BY, HAVING, COUNT."
STT_LANGUAGE = "en"
_STT_DEVICES = ("cpu", "cuda", "auto")
VAD_WINDOW = 512  # samples at 16 kHz; the only window Silero VAD v5/v6 accepts
VAD_CONTEXT = 64


class SpeechChunk(TypedDict):
    """A span of speech in 16 kHz samples (the shape of fastrtc's ``AudioChunk``)."""

    start: int
    end: int


class LocalVoiceError(Exception):
    """The keyless voice cannot run: a model or library is missing, or a setting or input is invalid."""


@dataclass(frozen=True)
class VoiceSettings:
    """Knobs of the keyless voice; validated on construction."""

    stt_model: str = BUNDLED_STT_MODEL  # "bundled:tiny.en", a CTranslate2 model dir, or a faster-whisper name
    stt_device: str = "cpu"
    stt_compute_type: str = "int8"
    stt_threads: int = 2
    stt_beam_size: int = 5
    stt_prompt: str = DEFAULT_STT_PROMPT
    stt_allow_download: bool = False  # a faster-whisper model *name* may be fetched from Hugging Face
    tts_voice: str = "en-us"
    tts_rate_wpm: int = 165
    tts_engine: str = "auto"  # "auto" (library, then binary), "library" (espeakng-loader) or "command"
    vad_threshold: float = 0.5
    min_silence_ms: int = 700  # the pause that ends a turn

    def __post_init__(self) -> None:
        problems = []
        if not self.stt_model.strip():
            problems.append("stt_model must not be empty")
        if self.stt_device not in _STT_DEVICES:
            problems.append(f"stt_device must be one of {', '.join(_STT_DEVICES)}, got {self.stt_device!r}")
        if not 1 <= self.stt_threads <= 64:
            problems.append(f"stt_threads must be between 1 and 64, got {self.stt_threads}")
        if not 1 <= self.stt_beam_size <= 10:
            problems.append(f"stt_beam_size must be between 1 and 10, got {self.stt_beam_size}")
        if not 80 <= self.tts_rate_wpm <= 450:
            problems.append(
                f"tts_rate_wpm must be between 80 and 450 words a minute, got {self.tts_rate_wpm}"
            )
        if not re.fullmatch(r"[A-Za-z0-9_+\-]+", self.tts_voice):
            problems.append(f"tts_voice must be an espeak-ng voice name like 'en-us', got {self.tts_voice!r}")
        if self.tts_engine not in ("auto", "library", "command"):
            problems.append(f"tts_engine must be 'auto', 'library' or 'command', got {self.tts_engine!r}")
        if not 0.05 <= self.vad_threshold <= 0.95:
            problems.append(f"vad_threshold must be between 0.05 and 0.95, got {self.vad_threshold}")
        if not 200 <= self.min_silence_ms <= 5000:
            problems.append(f"min_silence_ms must be between 200 and 5000, got {self.min_silence_ms}")
        if problems:
            raise LocalVoiceError("Invalid voice settings: " + "; ".join(problems))


# ---------------------------------------------------------------- audio helpers


def to_mono_float32(audio: tuple[int, np.ndarray]) -> tuple[int, np.ndarray]:
    """Return (sample_rate, 1-D float32 in [-1, 1]) from int16/int32/float audio, mono or (1,N)/(N,1)/(C,N)."""
    if not (isinstance(audio, tuple) and len(audio) == 2):
        raise LocalVoiceError("Audio must be a (sample_rate, samples) pair.")
    rate, samples = audio
    if isinstance(rate, bool) or not isinstance(rate, int | np.integer) or not 1000 <= rate <= 384000:
        raise LocalVoiceError(
            f"Audio sample rate must be an integer between 1000 and 384000 Hz, got {rate!r}."
        )
    array = np.asarray(samples)
    if array.ndim == 2:
        channel_axis = 0 if array.shape[0] <= array.shape[1] else 1
        if array.shape[channel_axis] > 8:
            raise LocalVoiceError(f"Audio must be mono or have at most 8 channels, got shape {array.shape}.")
        array = array.mean(axis=channel_axis) if array.shape[channel_axis] > 1 else array.reshape(-1)
    elif array.ndim != 1:
        raise LocalVoiceError(f"Audio must be a 1-D or 2-D array, got shape {array.shape}.")
    if array.dtype == np.int16:
        array = array.astype(np.float32) / 32768.0
    elif array.dtype == np.int32:
        array = array.astype(np.float32) / 2147483648.0
    elif np.issubdtype(array.dtype, np.floating):
        array = np.clip(np.nan_to_num(array.astype(np.float32, copy=False)), -1.0, 1.0)
    else:
        raise LocalVoiceError(f"Audio samples must be int16, int32 or float, got {array.dtype}.")
    return int(rate), np.ascontiguousarray(array, dtype=np.float32)


def resample(samples: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Resample 1-D float32 audio with soxr (a dependency of librosa, which fastrtc requires)."""
    if from_rate == to_rate or samples.size == 0:
        return samples
    import soxr

    return np.asarray(soxr.resample(samples, from_rate, to_rate), dtype=np.float32)


def module_dir(name: str) -> Path | None:
    """Directory of an installed package, found without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))
