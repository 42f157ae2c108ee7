"""The fastrtc audio handler for Realtime interviews: 24 kHz PCM16 both ways between a candidate and the agent.

fastrtc makes one handler per connection with `copy()`, so each candidate's state lives in its own instance. The
same handler serves the browser (WebRTC, in the Interview tab) and WebSocket clients (mounted under /interview).
Its inputs are a "link": a dict with the session reference, the candidate's SQL dialect and, from the page, the
latest typed answer or SQL editor submission. The handler reports back with AdditionalOutputs for the page
(transcript lines and the connection status) and, for WebSocket clients, with JSON messages on the socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any

import av
import numpy as np
from fastrtc import AdditionalOutputs, AsyncStreamHandler, CloseStream
from fastrtc.websocket import WebSocketDataChannel

from interview.engine import InterviewEngine
from interview.errors import InterviewError
from interview.realtime import InterviewContext
from interview.realtime_session import (
    KEYLESS_OFFER,
    SAMPLE_RATE,
    Hooks,
    RealtimeConfig,
    RealtimeInterview,
    RealtimeUnavailable,
)

log = logging.getLogger(__name__)

UI_PUSH_EVERY_S = 0.25
EMIT_IDLE_S = 1.0


class RealtimeInterviewHandler(AsyncStreamHandler):
    """One candidate's voice connection to the Realtime interviewer."""

    def __init__(self, engine: InterviewEngine, config: RealtimeConfig) -> None:
        super().__init__(
            expected_layout="mono", output_sample_rate=SAMPLE_RATE, input_sample_rate=SAMPLE_RATE
        )
        self.engine = engine
        self.config = config
        self.out: asyncio.Queue[Any] = asyncio.Queue()
        self.conversation: RealtimeInterview | None = None
        self.ref = ""
        self.session_id: int | None = None
        self.state = ("waiting", "Enter your employee ID and press Start, then talk to the interviewer.")
        self.lines: list[dict[str, str]] = []
        self._quit = asyncio.Event()
        self._seen_message: Any = None
        self._last_push = 0.0
        self._push_task: asyncio.Task[None] | None = None
        self._keep_session = (
            False  # True when the session was handed on (finished, or to the keyless interviewer)
        )

    def copy(self) -> RealtimeInterviewHandler:
        return RealtimeInterviewHandler(self.engine, self.config)

    # ---------------------------------------------------------------- fastrtc's interface
    async def start_up(self) -> None:
        """The whole conversation; fastrtc cancels this task (WebSocket) or calls shutdown (WebRTC) at the end."""
        try:
            link = await self._wait_for_link()
            if link is not None:
                await self._interview(link)
        finally:
            await self._close()

    def resample(self, frame: Any) -> Any:
        """WebRTC input at the handler's rate, one output frame per input frame. fastrtc sizes its resampler's
        frames by the input's sample count (960 at 48 kHz), which at 24 kHz is 40 ms: every other 20 ms frame
        waited for the next one before reaching the model."""
        resampler = self._resampler
        if resampler is None:
            resampler = av.AudioResampler(
                format="s16",
                layout=self.expected_layout,
                rate=self.input_sample_rate,
                frame_size=max(1, frame.samples * self.input_sample_rate // frame.sample_rate),
            )
            # fastrtc declares the attribute as None
            self._resampler = resampler  # type: ignore[assignment]
        yield from resampler.resample(frame)

    async def receive(self, frame: tuple[int, np.ndarray]) -> None:
        conversation = self.conversation
        if conversation is None:
            return
        _, array = frame
        pcm = np.asarray(array).reshape(-1)
        if pcm.dtype != np.int16:
            pcm = (np.clip(pcm.astype(np.float32), -1.0, 1.0) * 32767).astype(np.int16)
        await conversation.send_audio(pcm.astype("<i2", copy=False).tobytes())

    async def emit(self) -> Any:
        """The next output. Pacing to real time, and sending queued audio together, is the transport's:
        `interview.realtime_transport` for WebSocket clients, aiortc's player for WebRTC."""
        return await self._next_output()

    async def _next_output(self) -> Any:
        """The next queued output, or None after EMIT_IDLE_S with nothing (fastrtc's WebRTC player gives up on an
        emit() that takes 60 s). Not fastrtc's wait_for_item: asyncio.wait_for makes a task per call, and this
        runs for every output frame of every candidate."""
        if not self.out.empty():
            return self.out.get_nowait()
        try:
            async with asyncio.timeout(EMIT_IDLE_S):
                return await self.out.get()
        except TimeoutError:
            return None

    def shutdown(self) -> None:
        self._quit.set()
        if self.conversation is not None:
            self.conversation.stop()

    # ---------------------------------------------------------------- the link to the page or the client
    def _link(self) -> dict[str, Any] | None:
        for arg in self.latest_args or []:
            if isinstance(arg, dict) and "ref" in arg:
                return arg
        return None

    async def _wait_for_link(self) -> dict[str, Any] | None:
        await self.wait_for_args()
        told = False
        while not self._quit.is_set():
            link = self._link()
            if link and link.get("ref"):
                return link
            if not told:
                self._report(*self.state)
                told = True
            await asyncio.sleep(0.1)
        return None

    async def _watch_page(self, conversation: RealtimeInterview, ic: InterviewContext) -> None:
        """Pass what the candidate typed or submitted in the SQL editor to the model, once each."""
        while True:
            await asyncio.sleep(0.1)
            message = (self._link() or {}).get("message")
            if not message or message.get("id") == self._seen_message:
                continue
            self._seen_message = message.get("id")
            if message.get("stop"):
                conversation.stop()
                return
            sql, text = (message.get("sql") or "").strip(), (message.get("text") or "").strip()
            if sql:
                ic.editor_sql = sql
                text = (
                    f"{text}\n\n" if text else ""
                ) + f"I submitted this query in the SQL editor:\n```sql\n{sql}\n```"
            if text and not await conversation.send_text(text):
                self._report(
                    "reconnecting", "The voice connection is being restored; send that again in a moment."
                )

    # ---------------------------------------------------------------- the interview
    async def _interview(self, link: dict[str, Any]) -> None:
        self.ref = str(link["ref"])
        self._seen_message = (link.get("message") or {}).get("id")
        try:
            sid = await asyncio.to_thread(self.engine.resolve_ref, self.ref)
            state = await asyncio.to_thread(self.engine.state, sid)
            reason = "resume" if state.asked else "start"
            if state.status == "completed":
                self._keep_session = True
                self._report("finished", "This interview is already complete; its report is written.")
                self.out.put_nowait(CloseStream("The interview is complete."))
                return
            if state.status != "in_progress":
                state = await asyncio.to_thread(
                    self.engine.resume_session, sid, brain="realtime", mode="voice"
                )
                reason = "resume"
        except InterviewError as exc:
            self._report("error", str(exc))
            return
        self.session_id = sid
        ic = InterviewContext(
            self.engine,
            sid,
            model=self.config.model,
            dialect=str(link.get("dialect") or "duckdb"),
            grading_timeout_s=self.config.grading_timeout_s,
            open_question=state.pending.id if state.pending else None,
        )
        hooks = Hooks(
            audio=self._audio,
            interrupted=self._interrupted,
            transcript=self._transcript,
            status=self._report,
            store_changed=lambda: self._push(force=True),
        )
        self.conversation = RealtimeInterview(self.config, ic, hooks)
        watcher = asyncio.create_task(self._watch_page(self.conversation, ic))
        try:
            outcome = await self.conversation.run(reason)
        except RealtimeUnavailable as exc:
            await self._hand_over(sid, exc.reason, str(exc))
            return
        except Exception:  # a bug must not leave the candidate talking to nobody
            log.exception("realtime interview failed", extra={"session_id": sid})
            await self._hand_over(sid, "error", "The voice interviewer stopped because of an internal error.")
            return
        finally:
            watcher.cancel()
        if outcome == "finished":
            self._keep_session = True
            self._report("finished", "The interview is complete and its report is written.")
            self.out.put_nowait(CloseStream("The interview is complete."))
        elif not self._quit.is_set():  # ended from the page (End interview)
            self._report("ended", "The interview was ended.")
            self.out.put_nowait(CloseStream("The interview was ended."))

    async def _hand_over(self, sid: int, reason: str, message: str) -> None:
        """Tell the candidate plainly and leave the interview resumable by the keyless interviewer."""
        with contextlib.suppress(InterviewError):
            await asyncio.to_thread(self.engine.abandon, sid, f"realtime {reason}")
        self._keep_session = True
        log.warning("realtime unavailable", extra={"session_id": sid, "reason": reason})
        self._report("unavailable", f"{message} {KEYLESS_OFFER}")
        self.out.put_nowait(CloseStream(message))

    async def _close(self) -> None:
        if self.conversation is not None:
            self.conversation.stop()
        if self._push_task is not None:
            self._push_task.cancel()
        if self.session_id is not None and not self._keep_session:
            with contextlib.suppress(InterviewError):  # the candidate left mid-interview: keep it resumable
                await asyncio.to_thread(self.engine.abandon, self.session_id, "disconnect")

    # ---------------------------------------------------------------- hooks from the conversation
    def _audio(self, pcm: bytes) -> None:
        if len(pcm) >= 2:
            samples = np.frombuffer(pcm[: len(pcm) - len(pcm) % 2], dtype="<i2").astype(np.int16)
            self.out.put_nowait((SAMPLE_RATE, samples.reshape(1, -1)))

    def _interrupted(self) -> None:
        """Barge-in: drop the interviewer's audio that is queued but not yet played."""
        kept = []
        while not self.out.empty():
            item = self.out.get_nowait()
            if not isinstance(item, tuple):
                kept.append(item)
        for item in kept:
            self.out.put_nowait(item)
        if self._clear_queue is not None:
            self._clear_queue()

    def _transcript(self, lines: list[dict[str, str]]) -> None:
        self.lines = lines
        self._push()

    def _report(self, kind: str, message: str) -> None:
        self.state = (kind, message)
        log.info("realtime status", extra={"session_id": self.session_id, "status": kind})
        self._push(force=True)

    def _push(self, force: bool = False) -> None:
        """Tell the page or the client; transcript updates are throttled, status changes are not."""
        now = time.monotonic()
        if not force and now - self._last_push < UI_PUSH_EVERY_S:
            if self._push_task is None or self._push_task.done():
                self._push_task = asyncio.get_running_loop().create_task(self._push_later())
            return
        self._last_push = now
        kind, message = self.state
        if isinstance(self.channel, WebSocketDataChannel):
            self.channel.send(
                json.dumps(
                    {
                        "type": "interview",
                        "data": {
                            "status": kind,
                            "message": message,
                            "transcript": self.lines,
                            "session_id": self.session_id,
                        },
                    }
                )
            )
        elif self.channel is not None:
            self.out.put_nowait(AdditionalOutputs(self.ref, list(self.lines), kind, message))

    async def _push_later(self) -> None:
        await asyncio.sleep(UI_PUSH_EVERY_S)
        self._push(force=True)
