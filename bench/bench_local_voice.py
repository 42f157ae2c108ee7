"""Benchmark the keyless local voice: TTS, STT, VAD latency, end-of-turn delay and memory; prints markdown.

Usage: python bench/bench_local_voice.py [--repeat 5] [--sweep]
``--sweep`` also compares speech-to-text decoding settings (beam size, SQL prompt) on the same audio.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import platform
import re
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

# Candidate answers of 2-5 s, in the words an interviewee would say; the first is the tests' sentence.
SENTENCES = (
    "Select the name from employees where the salary is above fifty thousand.",
    "I would join the orders table with customers on the customer id.",
    "Then group by department and count the rows.",
    "Use a left join so that customers without orders are kept.",
    "I would order by the total amount in descending order and take the first ten.",
    "The having clause filters groups after the aggregation.",
    "A primary key must be unique and cannot be null.",
    "I would use a window function to rank the sales within each region.",
    "Count distinct user ids per day from the events table.",
    "An inner join only returns rows that match in both tables.",
    "Sum the revenue for each product and keep the ones above one thousand.",
    "I would add an index on the email column to speed up the lookup.",
)
QUESTION = (
    "Good. Now let's look at the orders table. How would you find the three customers who spent the most "
    "last year? Take your time, and tell me your thinking as you go."
)

_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def number_words(n: int) -> list[str]:
    """English words for a non-negative integer (below a trillion)."""
    if n < 20:
        return [_ONES[n]]
    if n < 100:
        return [_TENS[n // 10]] + ([_ONES[n % 10]] if n % 10 else [])
    for size, name in ((10**9, "billion"), (10**6, "million"), (1000, "thousand"), (100, "hundred")):
        if n >= size:
            high, low = divmod(n, size)
            return number_words(high) + [name] + (number_words(low) if low else [])
    raise AssertionError("unreachable")


def normalize_words(text: str) -> list[str]:
    """Lowercase words with punctuation dropped and numerals spelled out ("50,000" -> fifty thousand)."""
    words: list[str] = []
    for token in re.findall(r"\d[\d,]*(?:\.\d+)?|[a-z]+(?:'[a-z]+)?", text.lower().replace("-", " ")):
        if token[0].isdigit():
            whole, _, fraction = token.replace(",", "").partition(".")
            words += number_words(int(whole)) if len(whole) <= 12 else list(whole)
            words += ["point", *(_ONES[int(d)] for d in fraction)] if fraction else []
        else:
            words.append(token.replace("'", ""))
    return words


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(edit distance in words, reference word count) after normalize_words."""
    ref, hyp = normalize_words(reference), normalize_words(hypothesis)
    previous = list(range(len(hyp) + 1))
    for i, ref_word in enumerate(ref, 1):
        current = [i]
        for j, hyp_word in enumerate(hyp, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref_word != hyp_word)))
        previous = current
    return previous[-1], len(ref)


def word_error_rate(reference: str, hypothesis: str) -> float:
    errors, count = word_errors(reference, hypothesis)
    return errors / max(count, 1)


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def machine_info() -> list[str]:
    cpu = platform.processor() or "?"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [
            line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if "model name" in line
        ]
        cpu = names[0] if names else cpu
    packages = ("faster-whisper", "ctranslate2", "onnxruntime", "espeakng-loader", "fastrtc", "numpy", "soxr")
    versions = ", ".join(f"{name} {importlib.metadata.version(name)}" for name in packages)
    return [
        f"- Machine: {os.cpu_count()} CPUs visible (nproc {len(os.sched_getaffinity(0))}), {cpu}",
        f"- Python {platform.python_version()} on {platform.platform()}",
        f"- {versions}",
    ]


def voiced_span(rate: int, samples: np.ndarray) -> tuple[float, float]:
    """(first, last) second where 10 ms frames are louder than 5% of the clip's loudest frame."""
    frame = rate // 100
    usable = samples[: samples.size // frame * frame].astype(np.float32).reshape(-1, frame)
    rms = np.sqrt((usable**2).mean(axis=1))
    loud = np.flatnonzero(rms > 0.05 * rms.max()) if rms.size and rms.max() > 0 else np.array([0])
    return loud[0] / 100, (loud[-1] + 1) / 100


def turn_end_delays(voice, settings, clips: list[tuple[int, np.ndarray]]) -> list[float]:  # noqa: ANN001
    """Seconds of silence after each clip's last voiced sample before ReplyOnPause (our VAD) ends the turn."""
    from interview.local_voice import reply_on_pause, resample, to_mono_float32

    delays = []
    for clip in clips:
        handler = reply_on_pause(lambda audio: iter(()), voice, settings)
        handler.send_message_sync = lambda message: None  # no data channel: no transport in this harness
        handler._clear_queue = lambda: None
        rate, samples = to_mono_float32(clip)
        speech = (resample(samples, rate, 48000) * 32767).astype(np.int16)
        voiced_end = voiced_span(48000, speech)[1]
        audio = np.concatenate([speech, np.zeros(48000 * 3, dtype=np.int16)])
        for offset in range(0, audio.size, 960):  # 20 ms frames, as WebRTC delivers them
            handler.receive((48000, audio[offset : offset + 960].reshape(1, -1)))
            if handler.event.is_set():
                delays.append((offset + 960) / 48000 - voiced_end)
                break
        else:
            delays.append(float("inf"))
    return delays


def run(repeat: int, sweep: bool) -> str:
    from interview.local_voice import LocalVoice, SpeechToText, VoiceSettings, resample, to_mono_float32

    settings = VoiceSettings()
    lines = ["## Local voice", "", *machine_info(), f"- Settings: `{settings}`", ""]
    rss_start = rss_mib()
    voice = LocalVoice(settings)
    load_vad, _ = timed(voice.vad.warmup)
    load_tts, _ = timed(voice.tts.warmup)
    load_stt, _ = timed(voice.stt.warmup)
    rss_loaded = rss_mib()

    clips = [voice.tts.synthesize(s) for s in SENTENCES]
    tts_times = [timed(lambda s=s: voice.tts.synthesize(s))[0] for s in SENTENCES for _ in range(repeat)]
    first_chunk = []
    for _ in range(repeat):
        started = time.perf_counter()
        stream = voice.tts.stream(QUESTION)
        next(stream)
        first_chunk.append(time.perf_counter() - started)
        for _chunk in stream:
            pass
    whole_question, _ = timed(lambda: voice.tts.synthesize(QUESTION))

    stt_times, rtfs, errors, words, transcripts = [], [], 0, 0, []
    for sentence, clip in zip(SENTENCES, clips, strict=True):
        for attempt in range(repeat):
            seconds, text = timed(lambda clip=clip: voice.stt.transcribe(clip))
            stt_times.append(seconds)
            rtfs.append(seconds / (clip[1].size / clip[0]))
            if attempt == 0:
                wrong, count = word_errors(sentence, str(text))
                errors, words = errors + wrong, words + count
                transcripts.append((sentence, str(text), wrong / count))
    rss_used = rss_mib()

    chunk_48k = [
        (48000, (resample(to_mono_float32(c)[1], c[0], 48000)[:33600] * 32767).astype(np.int16))
        for c in clips
    ]
    vad_times = [timed(lambda c=c: voice.vad.vad(c, None))[0] for c in chunk_48k for _ in range(repeat * 4)]
    delays = turn_end_delays(voice, settings, clips)
    audio_seconds = [c[1].size / c[0] for c in clips]

    ms = 1000
    lines += [
        "| Measure | Result |",
        "|---|---|",
        f"| Warm-up (load + first run): VAD / TTS / STT | {load_vad:.2f} s / {load_tts:.2f} s / {load_stt:.2f} s |",
        f"| RSS: before / after loading all three / after STT runs | {rss_start:.0f} / {rss_loaded:.0f} / "
        f"{rss_used:.0f} MiB |",
        f"| TTS per sentence ({len(SENTENCES)} sentences x {repeat}), p50 / p95 | {percentile(tts_times, 50) * ms:.1f} / "
        f"{percentile(tts_times, 95) * ms:.1f} ms |",
        f"| TTS first audio chunk with stream(), 3-sentence question, p50 / p95 | "
        f"{percentile(first_chunk, 50) * ms:.1f} / {percentile(first_chunk, 95) * ms:.1f} ms "
        f"(whole question: {whole_question * ms:.1f} ms) |",
        f"| STT per sentence ({min(audio_seconds):.1f}-{max(audio_seconds):.1f} s of audio), p50 / p95 | "
        f"{percentile(stt_times, 50) * ms:.0f} / {percentile(stt_times, 95) * ms:.0f} ms |",
        f"| STT real-time factor, p50 / p95 | {percentile(rtfs, 50):.3f} / {percentile(rtfs, 95):.3f} |",
        f"| STT word error rate on espeak speech ({words} words) | {errors / words:.1%} |",
        f"| VAD per fastrtc chunk (0.7 s at 48 kHz), p50 / p95 | {percentile(vad_times, 50) * ms:.2f} / "
        f"{percentile(vad_times, 95) * ms:.2f} ms |",
        f"| VAD per 20 ms of audio | {percentile(vad_times, 50) * ms / 35:.3f} ms |",
        f"| End of turn: silence before ReplyOnPause fires (min_silence_ms={settings.min_silence_ms}), "
        f"min / p50 / max | {min(delays):.2f} / {statistics.median(delays):.2f} / {max(delays):.2f} s |",
        "",
        "Transcripts (reference -> Whisper tiny.en, WER):",
        "",
        *(f"- {ref} -> {hyp} ({wer:.0%})" for ref, hyp, wer in transcripts),
    ]
    if sweep:
        lines += ["", "STT decoding settings on the same audio:", "", "| beam | prompt | WER | p50 latency |"]
        lines += ["|---|---|---|---|"]
        for beam in (1, 5):
            for prompt in ("", settings.stt_prompt):
                stt = SpeechToText(replace(settings, stt_beam_size=beam, stt_prompt=prompt))
                stt.warmup()
                results = [timed(lambda c=c, stt=stt: stt.transcribe(c)) for c in clips]
                wrong = sum(
                    word_errors(s, str(text))[0] for s, (_, text) in zip(SENTENCES, results, strict=True)
                )
                latency = statistics.median(t for t, _ in results)
                lines.append(
                    f"| {beam} | {'SQL' if prompt else 'none'} | {wrong / words:.1%} | {latency * ms:.0f} ms |"
                )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per sentence (default 5)")
    parser.add_argument("--sweep", action="store_true", help="also compare STT beam sizes and prompts")
    args = parser.parse_args(argv)
    print(run(max(1, args.repeat), args.sweep))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    raise SystemExit(main())
