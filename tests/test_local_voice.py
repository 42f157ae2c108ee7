"""Keyless local voice: espeak-ng TTS, Whisper tiny.en STT, Silero VAD and the fastrtc ReplyOnPause glue.

Everything runs offline on the bundled models; the models load once per module.
"""

from __future__ import annotations

import re
import shutil
import socket
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from bench.bench_local_voice import voiced_span, word_error_rate
from interview.local_voice import (
    LocalVoice,
    LocalVoiceError,
    SileroVAD,
    SpeechToText,
    TextToSpeech,
    VoiceSettings,
    bundled_stt_model_path,
    reply_on_pause,
    resample,
    to_mono_float32,
)

SENTENCE = "Select the name from employees where the salary is above fifty thousand"
KEY_WORDS = ("select", "name", "employees", "salary", "fifty", "thousand")


@pytest.fixture(scope="module")
def voice() -> LocalVoice:
    local = LocalVoice(VoiceSettings())
    local.warmup()
    return local


@pytest.fixture(scope="module")
def spoken(voice: LocalVoice) -> tuple[int, np.ndarray]:
    return voice.tts.synthesize(SENTENCE)


def at_rate(audio: tuple[int, np.ndarray], rate: int) -> np.ndarray:
    """int16 copy of ``audio`` resampled to ``rate``."""
    source_rate, samples = to_mono_float32(audio)
    return (resample(samples, source_rate, rate) * 32767).astype(np.int16)


# ---------------------------------------------------------------- settings


def test_settings_reject_bad_values_naming_each() -> None:
    with pytest.raises(LocalVoiceError) as caught:
        VoiceSettings(tts_rate_wpm=10, min_silence_ms=50)
    assert str(caught.value) == (
        "Invalid voice settings: tts_rate_wpm must be between 80 and 450 words a minute, got 10; "
        "min_silence_ms must be between 200 and 5000, got 50"
    )


# ---------------------------------------------------------------- text to speech


def test_tts_speaks_a_sentence(spoken: tuple[int, np.ndarray]) -> None:
    rate, samples = spoken
    assert rate == 22050
    assert samples.dtype == np.int16 and samples.ndim == 1
    assert 2.5 < samples.size / rate < 7.0  # 12 words at 165 words a minute
    assert np.abs(samples).max() > 5000
    assert np.sqrt(np.mean(samples.astype(np.float64) ** 2)) > 500


@pytest.mark.parametrize("text", ["", "   \n\t "])
def test_tts_blank_text_gives_empty_audio(voice: LocalVoice, text: str) -> None:
    rate, samples = voice.tts.synthesize(text)
    assert rate == 22050 and samples.dtype == np.int16 and samples.size == 0
    assert list(voice.tts.stream(text)) == []


def test_tts_stream_chunks_sentences(voice: LocalVoice) -> None:
    text = "First, the join. Then the filter!\nFinally the sort?"
    chunks = list(voice.tts.stream(text, chunk_ms=200))
    rates = {rate for rate, _ in chunks}
    assert rates == {22050}
    assert all(c.dtype == np.int16 and 0 < c.size <= 4410 for _, c in chunks)
    expected = sum(
        voice.tts.synthesize(s)[1].size for s in ("First, the join.", "Then the filter!", "Finally the sort?")
    )
    assert abs(sum(c.size for _, c in chunks) - expected) < 0.01 * expected  # espeak varies by a few samples
    assert voice.tts.synthesize("First, the join.")[1].size < expected / 2


def test_tts_rejects_unknown_voice_and_bad_input(voice: LocalVoice) -> None:
    with pytest.raises(LocalVoiceError, match=r"^espeak-ng has no voice named 'xx-nope'\.$"):
        TextToSpeech(VoiceSettings(tts_voice="xx-nope")).synthesize("hello")
    with pytest.raises(TypeError, match="text to speak must be a str, got bytes"):
        voice.tts.synthesize(b"hello")  # type: ignore[arg-type]
    with pytest.raises(LocalVoiceError, match="chunk_ms must be between 10 and 10000, got 0"):
        next(voice.tts.stream("hello", chunk_ms=0))


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs the Debian espeak-ng binary")
def test_tts_command_fallback_speaks(voice: LocalVoice) -> None:
    tts = TextToSpeech(VoiceSettings(tts_engine="command"))
    assert tts.engine().kind == "command" and re.fullmatch(r"\d+\.\d+(\.\d+)?", tts.engine().version)
    rate, samples = tts.synthesize(SENTENCE)
    assert rate == 22050 and samples.dtype == np.int16
    assert 2.5 < samples.size / rate < 7.0 and np.abs(samples).max() > 5000
    assert word_error_rate(SENTENCE, voice.stt.transcribe((rate, samples))) <= 0.4
    with pytest.raises(LocalVoiceError, match="espeak-ng failed to speak with voice 'xx-nope'"):
        TextToSpeech(VoiceSettings(tts_engine="command", tts_voice="xx-nope")).synthesize("hello")


# ---------------------------------------------------------------- speech to text


def test_round_trip_keeps_the_words(
    voice: LocalVoice, spoken: tuple[int, np.ndarray], record_property: pytest.RecordProperty
) -> None:
    text = voice.stt.transcribe(spoken)
    wer = word_error_rate(SENTENCE, text)
    record_property("word_error_rate", round(wer, 3))
    assert wer <= 0.4, f"WER {wer:.0%}: {text!r}"
    heard = text.lower().replace("50,000", "fifty thousand")
    assert sum(word in heard for word in KEY_WORDS) >= 5, text


def test_stt_accepts_48k_float_and_channel_layouts(voice: LocalVoice, spoken: tuple[int, np.ndarray]) -> None:
    audio_48k = at_rate(spoken, 48000)
    as_float = audio_48k.astype(np.float32) / 32768
    for layout in (as_float.reshape(1, -1), as_float.reshape(-1, 1), audio_48k.reshape(1, -1)):
        assert word_error_rate(SENTENCE, voice.stt.transcribe((48000, layout))) <= 0.4


def test_stt_silence_and_tiny_clips_give_empty_text(voice: LocalVoice) -> None:
    assert voice.stt.transcribe((48000, np.zeros(48000 * 2, dtype=np.int16))) == ""
    assert voice.stt.transcribe((16000, np.zeros((1, 800), dtype=np.float32))) == ""
    assert voice.stt.transcribe((16000, np.zeros(0, dtype=np.int16))) == ""


@pytest.mark.parametrize(
    ("audio", "message"),
    [
        ((16000, np.zeros((2, 2, 2))), r"Audio must be a 1-D or 2-D array, got shape \(2, 2, 2\)\."),
        ((0, np.zeros(100)), r"Audio sample rate must be an integer between 1000 and 384000 Hz, got 0\."),
        ((16000, np.array(["a"])), r"Audio samples must be int16, int32 or float, got <U1\."),
        (np.zeros(10), r"Audio must be a \(sample_rate, samples\) pair\."),
    ],
)
def test_stt_rejects_malformed_audio(voice: LocalVoice, audio: object, message: str) -> None:
    with pytest.raises(LocalVoiceError, match=message):
        voice.stt.transcribe(audio)  # type: ignore[arg-type]


def test_models_are_shared_safely_across_threads(voice: LocalVoice, spoken: tuple[int, np.ndarray]) -> None:
    sentences = [f"Question number {n}. Please explain your query." for n in range(6)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        transcripts = [pool.submit(voice.stt.transcribe, spoken) for _ in range(2)]
        speech = list(pool.map(voice.tts.synthesize, sentences))
        probes = list(pool.map(lambda _: voice.vad.vad(spoken, None)[0], range(4)))
    alone = [voice.tts.synthesize(s)[1].size for s in sentences]
    assert [abs(audio.size - size) < 0.01 * size for (_, audio), size in zip(speech, alone, strict=True)] == [
        True
    ] * 6
    assert all(word_error_rate(SENTENCE, t.result()) <= 0.4 for t in transcripts)
    assert max(probes) - min(probes) < 1e-6


# ---------------------------------------------------------------- voice activity


@pytest.mark.parametrize("rate", [16000, 48000])
def test_vad_measures_the_voiced_length(voice: LocalVoice, spoken: tuple[int, np.ndarray], rate: int) -> None:
    samples = at_rate(spoken, rate)
    padded = np.concatenate([np.zeros(rate, np.int16), samples, np.zeros(rate, np.int16)])
    first, last = voiced_span(rate, padded)
    seconds, chunks = voice.vad.vad((rate, padded), None)
    assert abs(seconds - (last - first)) < 0.35, (seconds, first, last)
    assert chunks and all(set(c) == {"start", "end"} for c in chunks)
    assert abs(chunks[0]["start"] / 16000 - first) < 0.15  # chunk offsets are 16 kHz samples, like fastrtc's
    assert abs(chunks[-1]["end"] / 16000 - last) < 0.15


def test_vad_hears_nothing_in_silence_or_low_noise(voice: LocalVoice) -> None:
    noise = np.random.default_rng(7).normal(0, 100, 48000 * 2).astype(np.int16)  # about -50 dBFS
    assert voice.vad.vad((48000, np.zeros(48000 * 2, np.int16)), None) == (0.0, [])
    assert voice.vad.vad((48000, noise), None)[0] < 0.1
    assert voice.vad.vad((16000, np.zeros(0, np.float32)), None) == (0.0, [])


def test_vad_warmup_and_options_from_fastrtc(spoken: tuple[int, np.ndarray]) -> None:
    from fastrtc import SileroVadOptions

    vad = SileroVAD()
    vad.warmup()
    rate, samples = spoken
    padded = (rate, np.concatenate([np.zeros(rate, np.int16), samples, np.zeros(rate, np.int16)]))
    ours = vad.vad(padded, None)[0]
    wide = vad.vad(padded, SileroVadOptions(speech_pad_ms=400, min_silence_duration_ms=100))[0]
    strict = vad.vad(padded, SileroVadOptions(threshold=0.99, speech_pad_ms=0, min_silence_duration_ms=100))[
        0
    ]
    assert abs(wide - ours - 2 * (0.4 - 0.03)) < 0.15, (ours, wide)
    assert strict < 0.8 * ours, (ours, strict)


# ---------------------------------------------------------------- missing models


def test_missing_models_give_clear_errors(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(LocalVoiceError, match=rf"^Voice activity model not found at {missing}/vad\.onnx\.$"):
        SileroVAD(missing / "vad.onnx").warmup()
    settings = VoiceSettings(stt_model=str(missing))
    expected = f"speech-to-text model not found at {missing} (expected a CTranslate2 Whisper model directory)"
    with pytest.raises(LocalVoiceError) as caught:
        SpeechToText(settings).transcribe((16000, np.ones(16000, np.float32) * 0.1))
    assert str(caught.value) == expected[0].upper() + expected[1:] + "."
    assert LocalVoice(settings).available() == (False, expected)


def test_bad_compute_type_fails_on_load_with_clear_error() -> None:
    with pytest.raises(
        LocalVoiceError, match=r"^Cannot load the speech-to-text model .+: Invalid compute type: int3$"
    ):
        SpeechToText(VoiceSettings(stt_compute_type="int3")).warmup()
    with pytest.raises(LocalVoiceError, match="stt_device must be one of cpu, cuda, auto, got 'gpu'"):
        VoiceSettings(stt_device="gpu")


def test_named_model_not_cached_is_not_downloaded() -> None:
    ok, reason = LocalVoice(VoiceSettings(stt_model="large-v3")).available()
    assert not ok
    assert reason.startswith("speech-to-text model 'large-v3' is not in the local Hugging Face cache")
    with pytest.raises(LocalVoiceError, match="Unknown bundled speech-to-text model 'bundled:base'"):
        SpeechToText(VoiceSettings(stt_model="bundled:base")).model_location()


def test_bundled_model_is_available(voice: LocalVoice) -> None:
    assert (bundled_stt_model_path() / "model.bin").is_file()
    ok, reason = voice.available()
    assert ok, reason
    assert re.fullmatch(
        r"local voice ready \(speech-to-text bundled:tiny\.en, espeak-ng 1\.\d+\.\d+ library\)", reason
    )
    assert voice.tts.engine().kind == "library"  # the pip-only path is the default


# ---------------------------------------------------------------- fastrtc ReplyOnPause


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail on any model fetch by fastrtc and on any connection leaving the machine."""
    import fastrtc.pause_detection.silero as silero
    import fastrtc.reply_on_pause as reply
    import fastrtc.text_to_speech.tts as tts

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"attempted a model download: {args} {kwargs}")

    real_connect = socket.socket.connect

    def local_only(sock: socket.socket, address: object) -> object:
        if isinstance(address, tuple) and address[0] not in ("127.0.0.1", "::1", "localhost"):
            raise AssertionError(f"attempted a network connection to {address}")
        return real_connect(sock, address)

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(silero, "hf_hub_download", refuse)
    monkeypatch.setattr(tts, "hf_hub_download", refuse)
    monkeypatch.setattr(reply, "get_silero_model", refuse)
    monkeypatch.setattr(socket.socket, "connect", local_only)


def test_reply_on_pause_ends_the_turn_with_our_vad(offline: None, voice: LocalVoice) -> None:
    heard: list[str] = []

    def answer(audio: tuple[int, np.ndarray]):
        heard.append(voice.stt.transcribe(audio))
        yield from voice.tts.stream("Thanks. Next question.")

    settings = VoiceSettings(min_silence_ms=700)
    handler = reply_on_pause(answer, voice, settings, can_interrupt=False)
    assert handler.model is voice.vad and handler.copy().model is voice.vad
    assert handler.algo_options.audio_chunk_duration == 0.7
    assert handler.model_options.threshold == settings.vad_threshold
    handler.send_message_sync = lambda message: None  # no data channel without a WebRTC connection
    handler._clear_queue = lambda: None

    text = "I would join the orders table with customers. Then I would group by the customer id."
    speech = at_rate(voice.tts.synthesize(text), 48000)
    voiced_end = voiced_span(48000, speech)[1]
    audio = np.concatenate([speech, np.zeros(48000 * 3, np.int16)])
    fired_at = None
    for offset in range(0, audio.size, 960):  # 20 ms frames, as WebRTC delivers them
        handler.receive((48000, audio[offset : offset + 960].reshape(1, -1)))
        if handler.event.is_set():
            fired_at = (offset + 960) / 48000
            break
    assert fired_at is not None, "the pause after speech was never detected"
    assert 0.45 <= fired_at - voiced_end <= 1.5, (fired_at, voiced_end)

    replies = []
    while (output := handler.emit()) is not None:
        replies.append(output)
    assert word_error_rate(text, heard[0]) <= 0.4, heard
    assert replies and all(rate == 22050 and chunk.dtype == np.int16 for rate, chunk in replies)


def test_reply_on_pause_refuses_another_model(offline: None, voice: LocalVoice) -> None:
    with pytest.raises(TypeError, match="reply_on_pause always uses voice.vad"):
        reply_on_pause(lambda audio: iter(()), voice, VoiceSettings(), model=object())
