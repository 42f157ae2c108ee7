"""Keyless voice out: text-to-speech with espeak-ng, through libespeak-ng from the espeakng-loader wheel (ctypes)
or, failing that, the Debian ``espeak-ng`` binary. About 20 ms a sentence, offline.
"""

from __future__ import annotations

import ctypes
import io
import logging
import re
import shutil
import subprocess
import threading
import wave
from collections.abc import Iterator
from typing import Any

import numpy as np

from interview.voice_audio import LocalVoiceError, VoiceSettings

logger = logging.getLogger(__name__)


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
