"""The keyless voice interview in the Interview tab: fastrtc WebRTC audio, offline speech in and out.

The candidate's speech is cut into turns by our local VAD (ReplyOnPause), transcribed offline, answered by the
keyless interviewer, and the reply is spoken by offline text-to-speech. Models load once per process.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

import gradio as gr

from interview.errors import InterviewError
from interview.ice import ice_configuration
from interview.keyless import KeylessInterviewer, spoken_question
from settings import Settings

log = logging.getLogger(__name__)

InterviewerFactory = Callable[..., KeylessInterviewer]


class VoiceService:
    """Owns the process-wide local voice models and builds the voice component of the Interview tab."""

    def __init__(self, settings: Settings):
        from interview.local_voice import LocalVoice, VoiceSettings

        self.settings = settings
        self.voice_settings = VoiceSettings(
            stt_model=settings.stt_model,
            tts_voice=settings.tts_voice,
            min_silence_ms=settings.vad_min_silence_ms,
        )
        self.voice = LocalVoice(self.voice_settings)
        self._warm = threading.Event()

    def available(self) -> tuple[bool, str]:
        return self.voice.available()

    def warmup_in_background(self) -> None:
        """Load the models off the request path, so the first answer is not slowed by loading."""

        def run() -> None:
            try:
                self.voice.warmup()
            except Exception as exc:  # logged; the voice UI reports unavailability on use
                log.warning("local voice warm-up failed", extra={"error": str(exc)})
            finally:
                self._warm.set()

        threading.Thread(target=run, name="voice-warmup", daemon=True).start()

    # ---- the fastrtc handler functions (one ReplyOnPause copy per connection; no shared per-user state here)
    def _speak(self, text: str) -> Iterator[tuple[int, Any]]:
        yield from self.voice.tts.stream(text)

    def greet(self, ref: str, dialect: str, factory: InterviewerFactory) -> Iterator[Any]:
        """On connect: say the open question, or how to start."""
        try:
            interviewer = factory(ref, dialect, mode="voice")
        except InterviewError:
            yield from self._speak(
                "Hello, I'm Athena. Enter your employee ID and press start, then answer out loud."
            )
            return
        if interviewer.question is not None and interviewer.current is not None:
            yield from self._speak(
                f"Question {interviewer.current.position}. {spoken_question(interviewer.question)}"
            )

    def reply(
        self, audio: tuple[int, Any], ref: str, dialect: str, factory: InterviewerFactory
    ) -> Iterator[Any]:
        from fastrtc import AdditionalOutputs

        text = self.voice.stt.transcribe(audio).strip()
        log.info("voice turn", extra={"samples": int(getattr(audio[1], "size", 0)), "chars": len(text)})
        if not text:
            return
        try:
            interviewer = factory(ref, dialect, mode="voice")
            turns = interviewer.answer(text)
        except InterviewError as exc:
            log.info("voice answer not taken", extra={"reason": type(exc).__name__})
            yield AdditionalOutputs(ref, f"Heard: “{text}”. {exc}")
            yield from self._speak(str(exc))
            return
        yield AdditionalOutputs(ref, f"Heard: “{text}”")
        for turn in turns:
            yield from self._speak(turn.text)

    def build_component(self, tab: Any, ref: gr.State, dialect: gr.Dropdown, outputs: list[Any]) -> None:
        """The WebRTC audio component, wired to the interview by its session reference."""
        from fastrtc import WebRTC

        from interview.local_voice import reply_on_pause

        ok, reason = self.available()
        with gr.Accordion("Answer by voice", open=True):
            if not ok:
                gr.Markdown(
                    f"Voice answers are unavailable on this server: {reason} Use the text box instead.",
                    elem_id="voice-unavailable",
                )
                return
            gr.Markdown(
                "Press **Record**, allow the microphone, and answer out loud. A pause ends your answer."
            )
            browser_ice, server_ice = ice_configuration(self.settings)
            audio = WebRTC(
                label="Voice",
                modality="audio",
                mode="send-receive",
                full_screen=False,
                rtc_configuration=browser_ice,
                server_rtc_configuration=server_ice,
                elem_id="voice",
            )
            heard = gr.Markdown("", elem_id="voice-heard")
            handler = reply_on_pause(
                tab.voice_reply,
                self.voice,
                self.voice_settings,
                startup_fn=tab.voice_startup,
                can_interrupt=True,
            )
            audio.stream(
                fn=handler,
                inputs=[audio, ref, dialect],
                outputs=[audio],
                time_limit=self.settings.max_minutes * 60,
                concurrency_limit=None,
            )

            def on_outputs(session_ref: str, note: str) -> tuple[Any, ...]:
                return (*tab.refresh(session_ref), note)

            # Queued: one long-lived stream per connection delivers every update in order. Unqueued, each
            # update is a fresh run of fastrtc's generator, and Gradio keys its streaming diffs by the
            # generator's id(): once a freed generator's address is reused, the page is sent a diff it
            # cannot apply and stops updating.
            audio.on_additional_outputs(
                on_outputs, outputs=[*outputs, heard], concurrency_limit=None, show_progress="hidden"
            )
