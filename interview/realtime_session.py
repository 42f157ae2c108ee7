"""One candidate's conversation with the Realtime interviewer, across as many Realtime sessions as it takes.

`RealtimeInterview` connects (through `interview.realtime`), renews the session before the service's time limit and
after a dropped connection, restoring the interview state from the store into the new session (questions asked,
scores, the open question and what the candidate said of it), backs off on rate limits, and reports a refused key
or an unreachable service as `RealtimeUnavailable`, with a message fit for the candidate.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import websockets
from websockets.exceptions import ConnectionClosed

from interview.realtime import InterviewContext, briefing, open_session, send_raw
from settings import Settings

log = logging.getLogger(__name__)

SAMPLE_RATE = 24_000  # PCM16 mono both ways: the Realtime API's "audio/pcm" format


# ---------------------------------------------------------------------------------------------------- configuration
@dataclass(frozen=True)
class RealtimeConfig:
    """Everything a Realtime interview needs to know, taken from the settings once."""

    api_key: str
    url: str
    model: str
    voice: str = "marin"
    vad: str = "server_vad"
    vad_threshold: float = 0.5
    vad_silence_ms: int = 1000
    vad_prefix_padding_ms: int = 300
    vad_eagerness: str = "low"
    noise_reduction: str = "near_field"
    transcription_model: str = "gpt-4o-mini-transcribe"
    transcription_language: str = "en"
    renew_after_s: float = 28 * 60
    max_reconnects: int = 3
    backoff_s: float = 1.0
    backoff_max_s: float = 30.0
    connect_timeout_s: float = 15.0
    grading_timeout_s: float = 2.0
    # Told (operation, seconds) for each timed call to the service: "connect" (WebSocket and session set-up)
    # and "response" (end of the candidate's turn to the interviewer's first audio). Operations feed metrics.
    latency_observer: Callable[[str, float], None] | None = field(default=None, compare=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> RealtimeConfig:
        return cls(
            api_key=settings.openai_api_key,
            url=settings.realtime_url,
            model=settings.realtime_model,
            voice=settings.realtime_voice,
            vad=settings.realtime_vad,
            vad_threshold=settings.realtime_vad_threshold,
            vad_silence_ms=settings.realtime_vad_silence_ms,
            vad_prefix_padding_ms=settings.realtime_vad_prefix_padding_ms,
            vad_eagerness=settings.realtime_vad_eagerness,
            noise_reduction=settings.realtime_noise_reduction,
            transcription_model=settings.realtime_transcription_model,
            transcription_language=settings.realtime_transcription_language,
            renew_after_s=settings.realtime_renew_minutes * 60,
            max_reconnects=settings.realtime_max_reconnects,
            backoff_s=settings.realtime_backoff_s,
            backoff_max_s=settings.realtime_backoff_max_s,
            connect_timeout_s=settings.realtime_connect_timeout_s,
            grading_timeout_s=settings.grading_timeout_s,
        )

    def with_changes(self, **changes: Any) -> RealtimeConfig:
        return replace(self, **changes)

    @property
    def connect_url(self) -> str:
        """The WebSocket URL with the model named in its query, as the Realtime API expects."""
        parts = urlsplit(self.url)
        query = dict(parse_qsl(parts.query))
        query.setdefault("model", self.model)
        return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))

    def backoff(self, attempt: int) -> float:
        """Seconds to wait before retry number `attempt` (1, 2, ...): doubling from backoff_s, capped."""
        return min(self.backoff_max_s, self.backoff_s * (2 ** max(0, attempt - 1)))

    def turn_detection(self) -> dict[str, Any]:
        if self.vad == "semantic_vad":
            return {
                "type": "semantic_vad",
                "eagerness": self.vad_eagerness,
                "create_response": True,
                "interrupt_response": True,
            }
        return {
            "type": "server_vad",
            "threshold": self.vad_threshold,
            "silence_duration_ms": self.vad_silence_ms,
            "prefix_padding_ms": self.vad_prefix_padding_ms,
            "create_response": True,
            "interrupt_response": True,
        }

    def model_settings(self) -> dict[str, Any]:
        """The session configuration sent with session.update: audio formats, voice, VAD, transcription."""
        transcription: dict[str, Any] = {"model": self.transcription_model}
        if self.transcription_language:
            transcription["language"] = self.transcription_language
        settings: dict[str, Any] = {
            "model_name": self.model,
            "voice": self.voice,
            "modalities": ["audio"],
            "input_audio_format": "pcm16",
            "output_audio_format": "pcm16",
            "input_audio_transcription": transcription,
            "input_audio_noise_reduction": None
            if self.noise_reduction == "off"
            else {"type": self.noise_reduction},
            "turn_detection": self.turn_detection(),
        }
        return settings


# ---------------------------------------------------------------------------------------------------- the session
class RealtimeUnavailable(Exception):
    """The Realtime service cannot run this interview (refused key, unreachable, out of retries).

    `reason` is one of refused, quota, model, unreachable, busy; str(exc) is a message fit for the candidate.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class _ConnectFailed(Exception):
    pass


KEYLESS_OFFER = (
    "Your answers so far are saved. You can carry on with Athena's own interviewer instead: it works "
    "without the OpenAI service."
)
_REFUSALS = {
    "invalid_api_key": (
        "refused",
        "The OpenAI voice service refused this server's API key, so the voice "
        "interviewer cannot run. An administrator needs to check OPENAI_API_KEY.",
    ),
    "insufficient_quota": (
        "quota",
        "The OpenAI account behind this server has run out of credit, so the voice "
        "interviewer cannot run right now.",
    ),
    "model_not_found": (
        "model",
        "The OpenAI voice model configured on this server is not available to its API key.",
    ),
}


@dataclass
class Hooks:
    """What a RealtimeInterview tells its audio bridge; every callback is optional."""

    audio: Callable[[bytes], None] = lambda pcm: None
    interrupted: Callable[[], None] = lambda: None
    transcript: Callable[[list[dict[str, str]]], None] = lambda lines: None
    status: Callable[[str, str], None] = lambda kind, message: None
    store_changed: Callable[[], None] = lambda: None


class RealtimeInterview:
    """One candidate's conversation with the Realtime agent, across as many Realtime sessions as it takes."""

    def __init__(
        self,
        config: RealtimeConfig,
        ic: InterviewContext,
        hooks: Hooks | None = None,
        model_factory: Callable[[], Any] | None = None,
    ) -> None:
        self.config = config
        self.ic = ic
        self.hooks = hooks or Hooks()
        self._model_factory = model_factory  # tests may swap the transport; default: the OpenAI WebSocket
        self.session: Any = None  # the live agents RealtimeSession, if any
        self.sessions_opened = 0
        self.usage: dict[str, int] = {
            "input_tokens": 0,
            "output_tokens": 0,
            "audio_input_tokens": 0,
            "audio_output_tokens": 0,
            "cached_tokens": 0,
            "responses": 0,
        }
        self._stop = asyncio.Event()
        self._lines_before: list[dict[str, str]] = []  # transcript of earlier sessions
        self._items: dict[str, Any] = {}  # this session's conversation items, in order
        self._noted: set[str] = set()
        self._tools_running = 0
        self._responding = False
        self._response_after_report = False
        self._speaking = False
        self._established = False
        self._turn_ended_at: float | None = None
        self._rate_limited = 0
        self._retry_task: asyncio.Task[None] | None = None

    # ---- what the audio bridge calls
    @property
    def live(self) -> bool:
        return self.session is not None

    async def send_audio(self, pcm: bytes) -> None:
        """Forward the candidate's audio; dropped while the connection is being renewed."""
        session = self.session
        if session is None:
            return
        try:  # noqa: SIM105  (per 20 ms frame: cheaper than suppress(); `websockets.X` is a lazy attribute)
            await session.send_audio(pcm)
        except (ConnectionClosed, AssertionError, RuntimeError):
            pass

    async def send_text(self, text: str) -> bool:
        """Give the model something the candidate typed or submitted; False when no session is live."""
        session = self.session
        if session is None or not text.strip():
            return False
        try:
            await session.send_message(text)
        except (websockets.ConnectionClosed, AssertionError, RuntimeError):
            return False  # the connection dropped just now; it is being renewed
        return True

    def stop(self) -> None:
        self._stop.set()

    def transcript(self) -> list[dict[str, str]]:
        return self._lines_before + self._lines()

    # ---- the loop
    async def run(self, reason: str = "start") -> str:
        """Hold the conversation until the report is done ("finished") or stop() ("stopped").

        Raises RealtimeUnavailable when the service refuses the key or cannot be reached after the retries.
        """
        failures = 0
        try:
            while True:
                try:
                    outcome = await self._one_session(reason)
                except _ConnectFailed as exc:
                    outcome = "failed"
                    log.warning(
                        "realtime connection failed",
                        extra={"session_id": self.ic.session_id, "error": str(exc)},
                    )
                if outcome in ("finished", "stopped"):
                    return outcome
                if outcome == "renew":
                    failures, reason = 0, "renew"
                    continue
                if self._established:
                    failures = 0
                failures += 1
                if failures > self.config.max_reconnects:
                    raise RealtimeUnavailable(
                        "unreachable",
                        "The OpenAI voice service cannot be reached right "
                        "now, so the voice interviewer has stopped.",
                    )
                wait = self.config.backoff(failures)
                self.hooks.status(
                    "reconnecting",
                    f"The connection to the voice service dropped; reconnecting in "
                    f"{wait:.0f} s (attempt {failures} of {self.config.max_reconnects}).",
                )
                if await self._sleep_or_stop(wait):
                    return "stopped"
                reason = "reconnect" if self.sessions_opened else reason
        finally:
            log.info(
                "realtime interview closed",
                extra={"session_id": self.ic.session_id, "sessions": self.sessions_opened, **self.usage},
            )

    def _observe(self, operation: str, seconds: float) -> None:
        if self.config.latency_observer is not None:
            try:
                self.config.latency_observer(operation, seconds)
            except Exception:  # a metrics problem must never break an interview
                log.exception("latency observer failed")

    async def _sleep_or_stop(self, seconds: float) -> bool:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)
        return self._stop.is_set()

    async def _one_session(self, reason: str) -> str:
        self.ic.briefing = await asyncio.to_thread(briefing, self.ic, reason, self.transcript())
        self._established = False
        self.hooks.status("connecting", "Connecting to the voice interviewer...")
        connect_started = time.monotonic()
        try:
            session = await asyncio.wait_for(
                open_session(self.config, self.ic, self._model_factory), self.config.connect_timeout_s
            )
        except websockets.InvalidStatus as exc:
            status = exc.response.status_code
            if status in (401, 403):
                raise RealtimeUnavailable("refused", _REFUSALS["invalid_api_key"][1]) from None
            raise _ConnectFailed(f"the service answered HTTP {status}") from None
        except websockets.ConnectionClosed as exc:  # the service closed at once, e.g. 3000 for a refused key
            closed_because = exc.rcvd.reason if exc.rcvd else ""
            for key, (kind, text) in _REFUSALS.items():
                if key in closed_because:
                    raise RealtimeUnavailable(kind, text) from None
            raise _ConnectFailed(f"the service closed the connection: {exc}") from None
        except (OSError, TimeoutError, websockets.InvalidHandshake, websockets.InvalidURI) as exc:
            raise _ConnectFailed(f"{type(exc).__name__}: {exc}") from None
        self._observe("connect", time.monotonic() - connect_started)
        self.session = session
        self.sessions_opened += 1
        self._items, self._noted = {}, set()
        self._tools_running, self._responding, self._speaking = 0, False, False
        log.info(
            "realtime session open",
            extra={"session_id": self.ic.session_id, "reason": reason, "model": self.config.model},
        )
        try:
            await self._kickoff(session, reason)
            return await self._pump(session)
        finally:
            self.session = None
            self._lines_before = self.transcript()
            self._items = {}
            if self._retry_task is not None:
                self._retry_task.cancel()
            with contextlib.suppress(Exception):
                await session.close()

    async def _kickoff(self, session: Any, reason: str) -> None:
        notes = {
            "reconnect": "The connection to the voice service dropped and is now restored; nothing recorded is lost "
            "(see where the interview stands in your instructions). Apologise in a few words and carry "
            "on: if the candidate was answering, ask them to finish or repeat their answer.",
            "renew": "The voice session was renewed to stay within the service's time limit; nothing recorded is "
            "lost. Carry on exactly where the interview was; the candidate may be mid-answer, so wait.",
        }
        if reason in notes:
            await send_raw(
                session,
                {
                    "type": "conversation.item.create",
                    "other_data": {
                        "item": {
                            "type": "message",
                            "role": "system",
                            "content": [{"type": "input_text", "text": notes[reason]}],
                        }
                    },
                },
            )
        if reason != "renew":
            await send_raw(session, {"type": "response.create"})

    async def _pump(self, session: Any) -> str:
        loop = asyncio.get_running_loop()
        renew_at = loop.time() + self.config.renew_after_s
        consumer = asyncio.create_task(self._consume(session), name=f"realtime-{self.ic.session_id}")
        try:
            while True:
                done, _ = await asyncio.wait({consumer}, timeout=0.2)
                if consumer in done:
                    return consumer.result()
                if self._stop.is_set():
                    return "stopped"
                if loop.time() >= renew_at and self._idle():
                    log.info("realtime session renewal", extra={"session_id": self.ic.session_id})
                    return "renew"
        finally:
            if not consumer.done():
                consumer.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await consumer

    def _idle(self) -> bool:
        return not (self._responding or self._speaking or self._tools_running)

    async def _consume(self, session: Any) -> str:
        events = session.__aiter__()
        while True:
            try:
                event = await events.__anext__()
            except StopAsyncIteration:
                log.warning("realtime stream ended", extra={"session_id": self.ic.session_id})
                return "dropped"
            except websockets.ConnectionClosed as exc:
                log.warning(
                    "realtime connection closed",
                    extra={"session_id": self.ic.session_id, "code": exc.rcvd.code if exc.rcvd else None},
                )
                return "dropped"
            except Exception as exc:  # the SDK re-raises what broke its stream; a new session recovers
                log.warning(
                    "realtime stream failed", extra={"session_id": self.ic.session_id, "error": repr(exc)}
                )
                return "dropped"
            outcome = await self._on_event(event)
            if outcome is not None:
                return outcome

    async def _on_event(self, event: Any) -> str | None:
        kind = event.type
        if kind == "audio":
            if self._turn_ended_at is not None:
                self._observe("response", time.monotonic() - self._turn_ended_at)
                self._turn_ended_at = None
            self.hooks.audio(event.audio.data)
        elif kind == "audio_interrupted":
            self.hooks.interrupted()  # barge-in: the candidate started speaking over the interviewer
        elif kind == "history_updated":
            self._items = {item.item_id: item for item in event.history}
            self._history_changed()
        elif kind == "history_added":
            self._items[event.item.item_id] = event.item
            self._history_changed()
        elif kind == "tool_start":
            self._tools_running += 1
        elif kind == "tool_end":
            self._tools_running = max(0, self._tools_running - 1)
            self.hooks.store_changed()
        elif kind == "agent_start":
            self._responding = True
            self._response_after_report = self.ic.report_ready
        elif kind == "agent_end":
            self._responding = False
            if self._response_after_report and not self._tools_running:
                return "finished"
        elif kind == "error":
            return self._on_error(event.error)
        elif kind == "raw_model_event" and event.data.type == "raw_server_event":
            self._on_server_event(event.data.data)
        return None

    def _on_error(self, error: Any) -> str | None:
        code = str(getattr(error, "code", "") or "")
        etype = str(getattr(error, "type", "") or "")
        message = str(getattr(error, "message", "") or error)
        log.warning(
            "realtime error",
            extra={"session_id": self.ic.session_id, "code": code, "type": etype, "error": message[:300]},
        )
        for key, (reason, text) in _REFUSALS.items():
            if key in (code, etype):
                raise RealtimeUnavailable(reason, text)
        if "session_expired" in (code, etype):
            return "renew"
        if "rate_limit" in code or "rate_limit" in etype:
            self._on_rate_limit()
        return None

    def _on_server_event(self, data: dict[str, Any]) -> None:
        kind = data.get("type")
        if kind in ("session.created", "session.updated"):
            if not self._established:
                self._established = True
                self.hooks.status("live", "Connected: the interviewer is listening.")
        elif kind == "input_audio_buffer.speech_started":
            self._speaking = True
            self._turn_ended_at = None
        elif kind in ("input_audio_buffer.speech_stopped", "input_audio_buffer.cleared"):
            self._speaking = False
            if kind == "input_audio_buffer.speech_stopped":
                self._turn_ended_at = time.monotonic()
        elif kind == "response.done":
            response = data.get("response") or {}
            self._count_usage(response.get("usage") or {})
            details = response.get("status_details") or {}
            error = details.get("error") or {}
            if (
                response.get("status") == "failed"
                and "rate_limit" in f"{error.get('code')} {error.get('type')}"
            ):
                self._on_rate_limit()
            elif response.get("status") == "completed":
                self._rate_limited = 0

    def _on_rate_limit(self) -> None:
        """Back off and ask for the response again; give up after max_reconnects retries in a row."""
        self._rate_limited += 1
        if self._rate_limited > self.config.max_reconnects:
            raise RealtimeUnavailable(
                "busy",
                "The OpenAI voice service is too busy right now (rate limit), so the "
                "voice interviewer has stopped.",
            )
        wait = self.config.backoff(self._rate_limited)
        self.hooks.status("waiting", f"The voice service is busy; trying again in {wait:.0f} s.")
        session = self.session

        async def retry() -> None:
            if await self._sleep_or_stop(wait) or session is None or self.session is not session:
                return
            await send_raw(session, {"type": "response.create"})

        if self._retry_task is not None:
            self._retry_task.cancel()
        self._retry_task = asyncio.create_task(retry())

    def _count_usage(self, usage: dict[str, Any]) -> None:
        self.usage["responses"] += 1
        self.usage["input_tokens"] += int(usage.get("input_tokens") or 0)
        self.usage["output_tokens"] += int(usage.get("output_tokens") or 0)
        inp, out = usage.get("input_token_details") or {}, usage.get("output_token_details") or {}
        self.usage["audio_input_tokens"] += int(inp.get("audio_tokens") or 0)
        self.usage["cached_tokens"] += int(inp.get("cached_tokens") or 0)
        self.usage["audio_output_tokens"] += int(out.get("audio_tokens") or 0)

    # ---- transcript
    def _lines(self) -> list[dict[str, str]]:
        lines = []
        for item in self._items.values():
            text = _item_text(item)
            if text and getattr(item, "role", None) in ("user", "assistant"):
                lines.append({"role": item.role, "content": text})
        return lines

    def _history_changed(self) -> None:
        for item in self._items.values():
            if getattr(item, "role", None) != "user" or item.item_id in self._noted:
                continue
            text = _item_text(item)
            if text:  # a spoken answer once transcribed, or something typed
                self._noted.add(item.item_id)
                self.ic.note_heard(text)
        self.hooks.transcript(self.transcript())


def _item_text(item: Any) -> str:
    parts = []
    for part in getattr(item, "content", None) or []:
        value = getattr(part, "transcript", None) or getattr(part, "text", None)
        if value:
            parts.append(str(value).strip())
    return " ".join(p for p in parts if p)
