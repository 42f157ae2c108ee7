"""A fake OpenAI Realtime server for tests: a real WebSocket server on 127.0.0.1 that speaks the GA event protocol.

It does what the service does, as far as Athena relies on it: checks the key (a refused key gets the service's
`invalid_api_key` error and close code 3000), sends session.created, applies session.update and answers
session.updated, detects speech in the appended PCM16 audio with its own energy VAD (speech_started /
speech_stopped / committed, then input transcription and a response when turn detection says so), cancels a
response when the candidate talks over it (barge-in), truncates and retrieves items, and streams scripted
responses: spoken messages (output audio and transcript deltas) and function calls, whose outputs come back as
function_call_output items before the client asks for the next response.

Every event the client sends is validated against the `openai` package's RealtimeClientEvent union and every
event sent is validated against RealtimeServerEvent; anything off is recorded in `problems`, so a test can
assert that the client spoke the protocol correctly.

The model's side is a `Script`: `Turn`s of actions (`Say`, `Call`, `Drop`, `Fail`) played one per response,
and `Hear` entries giving the transcript of each detected utterance (or dropping the connection mid-answer).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import numpy as np
from openai.types.realtime import RealtimeClientEvent, RealtimeServerEvent
from pydantic import TypeAdapter
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

SAMPLE_RATE = 24_000
_CLIENT_EVENTS: TypeAdapter[Any] = TypeAdapter(RealtimeClientEvent)
_SERVER_EVENTS: TypeAdapter[Any] = TypeAdapter(RealtimeServerEvent)
_ids = itertools.count(1)


def new_id(prefix: str) -> str:
    return f"{prefix}_fake{next(_ids):06d}"


# ---------------------------------------------------------------------------------------------------- the script
@dataclass(frozen=True)
class Say:
    """The model speaks: output audio (a tone, about 60 ms a word) with its transcript."""

    text: str
    audio_ms: int | None = None


@dataclass(frozen=True)
class Call:
    """The model calls a function; arguments may be a dict, a raw string, or built from the conversation so far."""

    name: str
    arguments: dict[str, Any] | str | Callable[[Conversation], dict[str, Any] | str] = field(
        default_factory=dict
    )


@dataclass(frozen=True)
class Drop:
    """The connection breaks: the TCP connection is aborted without a close frame."""


@dataclass(frozen=True)
class Fail:
    """The response fails (response.done with status failed), e.g. on a rate limit."""

    code: str = "rate_limit_exceeded"
    type: str = "requests"
    message: str = "Rate limit reached for gpt-realtime: requests per minute. Please try again."


@dataclass(frozen=True)
class Turn:
    """One response. `trigger` is what should have started it: start, tool_output, speech or text (None: any)."""

    actions: Sequence[Say | Call | Drop | Fail]
    trigger: str | None = None


@dataclass(frozen=True)
class Hear:
    """What the candidate said in one utterance (the input transcription), or a drop after this much speech."""

    transcript: str
    drop_after_ms: int | None = None


Action = Say | Call | Drop | Fail
Policy = Callable[["Conversation", str], Sequence[Action]]


@dataclass
class Script:
    """What the model does on one connection: `turns` in order, then `policy(conversation, trigger)` for any
    further response; `heard` transcripts in order, then `hearing(conversation)` for any further utterance."""

    turns: list[Turn] = field(default_factory=list)
    heard: list[Hear | str] = field(default_factory=list)
    policy: Policy | None = None
    hearing: Callable[[Conversation], Hear | str] | None = None


# ---------------------------------------------------------------------------------------------------- records
@dataclass
class Conversation:
    """One connection as the fake saw it: what the client sent, the session it configured, the tool results."""

    index: int
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    events: list[dict[str, Any]] = field(default_factory=list)  # client events (audio payloads dropped)
    sessions: list[dict[str, Any]] = field(default_factory=list)  # the session after each session.update
    audio_bytes: int = 0
    tool_calls: list[tuple[str, str, Any]] = field(default_factory=list)  # (call_id, name, arguments)
    tool_outputs: list[tuple[str, str, Any]] = field(default_factory=list)  # (call_id, name, parsed output)
    transcripts: list[str] = field(default_factory=list)  # what the fake "heard"
    responses: list[dict[str, Any]] = field(default_factory=list)  # response.done payloads sent
    user_texts: list[str] = field(default_factory=list)  # user text items created by the client
    system_texts: list[str] = field(default_factory=list)
    speech_started: int = 0
    cancelled: int = 0
    truncated: int = 0
    closed: str = ""

    @property
    def session(self) -> dict[str, Any]:
        return self.sessions[-1] if self.sessions else {}

    def event_types(self) -> list[str]:
        return [e.get("type", "") for e in self.events]

    def outputs(self, name: str) -> list[Any]:
        return [out for _, n, out in self.tool_outputs if n == name]

    @property
    def last_tool(self) -> tuple[str, Any]:
        """(name, output) of the latest tool result the client sent back."""
        if not self.tool_outputs:
            raise AssertionError("no tool output yet")
        _, name, output = self.tool_outputs[-1]
        return name, output

    def last_output(self, name: str) -> Any:
        found = self.outputs(name)
        if not found:
            raise AssertionError(
                f"no output of {name} yet; outputs so far: {[n for _, n, _ in self.tool_outputs]}"
            )
        return found[-1]


def default_session(model: str) -> dict[str, Any]:
    """The session the service reports in session.created before the client configures it."""
    return {
        "type": "realtime",
        "object": "realtime.session",
        "id": new_id("sess"),
        "model": model,
        "output_modalities": ["audio"],
        "instructions": "You are a helpful assistant.",
        "tools": [],
        "tool_choice": "auto",
        "max_output_tokens": "inf",
        "tracing": None,
        "prompt": None,
        "expires_at": int(time.time()) + 3600,
        "include": None,
        "audio": {
            "input": {
                "format": {"type": "audio/pcm", "rate": SAMPLE_RATE},
                "transcription": None,
                "noise_reduction": None,
                "turn_detection": {
                    "type": "server_vad",
                    "threshold": 0.5,
                    "prefix_padding_ms": 300,
                    "silence_duration_ms": 200,
                    "idle_timeout_ms": None,
                    "create_response": True,
                    "interrupt_response": True,
                },
            },
            "output": {"format": {"type": "audio/pcm", "rate": SAMPLE_RATE}, "voice": "alloy", "speed": 1.0},
        },
    }


def _merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in update.items():
        if (
            isinstance(value, dict)
            and isinstance(out.get(key), dict)
            and key not in ("turn_detection", "format")
        ):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def tone(ms: int, freq: float = 440.0, amplitude: int = 6000) -> bytes:
    n = int(SAMPLE_RATE * ms / 1000)
    t = np.arange(n) / SAMPLE_RATE
    return (amplitude * np.sin(2 * math.pi * freq * t)).astype("<i2").tobytes()


# ---------------------------------------------------------------------------------------------------- the server
class FakeRealtimeServer:
    """Run with `with FakeRealtimeServer(scripts) as server:`; point the app at `server.url`.

    `scripts` gives one Script per connection, in order (the last one is reused). `api_keys` are accepted;
    `handshake_status` refuses the first len(list) handshakes with those HTTP statuses (e.g. [503]).
    `pace` scales the time between audio chunks (0.1: ten times faster than real time).
    """

    def __init__(
        self,
        scripts: Script | Sequence[Script],
        *,
        api_keys: Sequence[str] = ("sk-test-athena",),
        handshake_status: Sequence[int] = (),
        pace: float = 0.1,
        chunk_ms: int = 100,
        speech_rms: float = 400.0,
    ) -> None:
        self.scripts = [scripts] if isinstance(scripts, Script) else list(scripts)
        self.api_keys = set(api_keys)
        self.handshake_status = list(handshake_status)
        self.pace = pace
        self.chunk_ms = chunk_ms
        self.speech_rms = speech_rms
        self.conversations: list[Conversation] = []
        self._connections: list[_Connection] = []
        self.problems: list[str] = []
        self.handshakes = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self.port = 0

    # ---- lifecycle
    def __enter__(self) -> FakeRealtimeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/v1/realtime"

    def start(self) -> FakeRealtimeServer:
        self._thread = threading.Thread(target=self._run, name="fake-realtime", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the fake Realtime server did not start")
        return self

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)

        async def main() -> None:
            self._server = await serve(
                self._handle, "127.0.0.1", 0, process_request=self._process_request, max_size=None
            )
            self.port = self._server.sockets[0].getsockname()[1]
            self._ready.set()
            await self._server.serve_forever()

        with contextlib.suppress(asyncio.CancelledError):
            self._loop.run_until_complete(main())

    def stop(self) -> None:
        if self._loop is not None and self._server is not None:
            self._loop.call_soon_threadsafe(self._server.close)
        if self._thread is not None:
            self._thread.join(10)

    def wait_until(
        self, predicate: Callable[[], bool], timeout: float = 10.0, what: str = "condition"
    ) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.02)
        raise AssertionError(f"timed out after {timeout:g} s waiting for {what}; problems: {self.problems}")

    # ---- handshake
    def _process_request(self, connection: ServerConnection, request: Any) -> Any:
        self.handshakes += 1
        if not urlsplit(request.path).path.startswith("/v1/realtime"):
            return connection.respond(HTTPStatus.NOT_FOUND, "Not found\n")
        if self.handshake_status:
            status = self.handshake_status.pop(0)
            return connection.respond(HTTPStatus(status), f"{HTTPStatus(status).phrase}\n")
        return None

    async def _handle(self, ws: ServerConnection) -> None:
        parts = urlsplit(ws.request.path)
        conv = Conversation(
            index=len(self.conversations),
            path=parts.path,
            query=dict(parse_qsl(parts.query)),
            headers={k.lower(): v for k, v in ws.request.headers.raw_items()},
        )
        self.conversations.append(conv)
        script = self.scripts[min(conv.index, len(self.scripts) - 1)] if self.scripts else Script([])
        connection = _Connection(self, ws, conv, script)
        self._connections.append(connection)
        await connection.serve()

    def quiet(self, index: int = -1) -> bool:
        """True when the model is waiting for the candidate: no response running, no tool result or follow-up
        response still to come."""
        if not self._connections:
            return False
        c = self._connections[index]
        return (c.response is None or c.response.done()) and not c.pending_calls and not c.output_unanswered


class _Connection:
    """One client connection: the event loop of the fake service."""

    def __init__(self, server: FakeRealtimeServer, ws: ServerConnection, conv: Conversation, script: Script):
        self.server = server
        self.ws = ws
        self.conv = conv
        self.script = script
        self.turns = list(script.turns)
        self.heard = [h if isinstance(h, Hear) else Hear(h) for h in script.heard]
        self.items: dict[str, dict[str, Any]] = {}
        self.last_item: str | None = None
        self.pending_calls: dict[str, str] = {}  # call_id -> name, awaiting output
        self.output_unanswered = False  # a tool result arrived and no response has started since
        self.response: asyncio.Task[None] | None = None
        self.response_id: str | None = None
        self.cancel_reason: str | None = None
        self.session: dict[str, Any] = default_session(conv.query.get("model", "gpt-realtime"))
        # server VAD state
        self.audio_ms = 0.0
        self.speaking = False
        self.speech_ms = 0.0
        self.silence_ms = 0.0
        self.speech_item: str | None = None
        self.hear_now: Hear | None = None
        self.pending = bytearray()
        self.tasks: set[asyncio.Task[Any]] = set()

    def problem(self, text: str) -> None:
        self.server.problems.append(f"connection {self.conv.index}: {text}")

    async def send(self, event: dict[str, Any]) -> None:
        event.setdefault("event_id", new_id("event"))
        try:
            _SERVER_EVENTS.validate_python(event)
        except Exception as exc:  # a bug in the fake, not in the client
            self.problem(f"fake sent an invalid {event.get('type')}: {exc}")
        with contextlib.suppress(Exception):
            await self.ws.send(json.dumps(event))

    async def error(
        self, code: str, message: str, *, etype: str = "invalid_request_error", event_id: str | None = None
    ) -> None:
        await self.send(
            {
                "type": "error",
                "error": {
                    "type": etype,
                    "code": code,
                    "message": message,
                    "param": None,
                    "event_id": event_id,
                },
            }
        )

    async def serve(self) -> None:
        auth = self.conv.headers.get("authorization", "")
        key = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else ""
        if not auth.startswith("Bearer "):
            self.problem("no 'Authorization: Bearer' header")
        if key not in self.server.api_keys:
            shown = f"{key[:6]}{'*' * max(0, len(key) - 10)}{key[-4:]}" if len(key) > 10 else "***"
            await self.error(
                "invalid_api_key",
                f"Incorrect API key provided: {shown}. You can find your API key "
                "at https://platform.openai.com/account/api-keys.",
            )
            await self.ws.close(3000, "invalid_request_error.invalid_api_key")
            self.conv.closed = "refused"
            return
        if "model" not in self.conv.query:
            self.problem("the URL names no model (?model=...)")
        await self.send({"type": "session.created", "session": self.session})
        try:
            async for message in self.ws:
                await self.on_message(message)
            self.conv.closed = self.conv.closed or "client"
        except Exception as exc:  # a script that raised, or a broken connection
            self.conv.closed = self.conv.closed or f"error: {type(exc).__name__}"
            if not isinstance(exc, ConnectionError | OSError | ConnectionClosed):
                self.problem(f"the fake failed: {exc!r}")
        finally:
            for task in list(self.tasks):
                task.cancel()

    def spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    # ---- client events
    async def on_message(self, message: str | bytes) -> None:
        try:
            event = json.loads(message)
        except json.JSONDecodeError:
            self.problem(f"client sent something that is not JSON: {message[:80]!r}")
            return
        try:
            _CLIENT_EVENTS.validate_python(event)
        except Exception as exc:
            self.problem(f"client sent an invalid {event.get('type')!r} event: {str(exc)[:300]}")
            await self.error("invalid_value", f"Invalid event: {event.get('type')!r}")
            return
        kind = event["type"]
        if kind == "input_audio_buffer.append":
            audio = base64.b64decode(event["audio"])
            self.conv.audio_bytes += len(audio)
            self.conv.events.append({"type": kind, "bytes": len(audio)})
            await self.on_audio(audio)
            return
        self.conv.events.append(event)
        handler = getattr(self, "on_" + kind.replace(".", "_"), None)
        if handler is None:
            self.problem(f"the fake does not handle {kind!r}")
            return
        await handler(event)

    async def on_session_update(self, event: dict[str, Any]) -> None:
        session = event.get("session") or {}
        if session.get("type") != "realtime":
            self.problem("session.update without session.type 'realtime' (the GA protocol requires it)")
        self.session = _merge(self.session, {k: v for k, v in session.items() if k != "type"})
        self.conv.sessions.append(self.session)
        await self.send({"type": "session.updated", "session": self.session})

    async def on_conversation_item_create(self, event: dict[str, Any]) -> None:
        item = dict(event["item"])
        item.setdefault("id", new_id("item"))
        item.setdefault("object", "realtime.item")
        item["status"] = "completed"
        if item.get("type") == "function_call_output":
            call_id = item.get("call_id", "")
            name = self.pending_calls.pop(call_id, None)
            if name is None:
                self.problem(f"function_call_output for unknown or answered call {call_id!r}")
            try:
                output: Any = json.loads(item.get("output", ""))
            except json.JSONDecodeError:
                output = item.get("output", "")
            self.conv.tool_outputs.append((call_id, name or "?", output))
            self.output_unanswered = True
        elif item.get("type") == "message":
            texts = [c.get("text", "") for c in item.get("content", []) if c.get("type") == "input_text"]
            (self.conv.user_texts if item.get("role") == "user" else self.conv.system_texts).append(
                " ".join(texts)
            )
        previous = self.last_item
        self.items[item["id"]] = item
        self.last_item = item["id"]
        await self.send({"type": "conversation.item.added", "previous_item_id": previous, "item": item})
        await self.send({"type": "conversation.item.done", "previous_item_id": previous, "item": item})

    async def on_conversation_item_retrieve(self, event: dict[str, Any]) -> None:
        item = self.items.get(event["item_id"])
        if item is None:
            await self.error("item_not_found", f"Item with id '{event['item_id']}' not found.")
            return
        await self.send({"type": "conversation.item.retrieved", "item": item})

    async def on_conversation_item_truncate(self, event: dict[str, Any]) -> None:
        self.conv.truncated += 1
        if event["item_id"] not in self.items:
            await self.error("item_not_found", f"Item with id '{event['item_id']}' not found.")
            return
        await self.send(
            {
                "type": "conversation.item.truncated",
                "item_id": event["item_id"],
                "content_index": event["content_index"],
                "audio_end_ms": event["audio_end_ms"],
            }
        )

    async def on_conversation_item_delete(self, event: dict[str, Any]) -> None:
        self.items.pop(event["item_id"], None)
        await self.send({"type": "conversation.item.deleted", "item_id": event["item_id"]})

    async def on_input_audio_buffer_clear(self, event: dict[str, Any]) -> None:
        self.pending.clear()
        await self.send({"type": "input_audio_buffer.cleared"})

    async def on_input_audio_buffer_commit(self, event: dict[str, Any]) -> None:
        await self.end_utterance(manual=True)

    async def on_response_create(self, event: dict[str, Any]) -> None:
        if self.response is not None and not self.response.done():
            self.problem("response.create while a response is in progress")
            await self.error(
                "conversation_already_has_active_response",
                "Conversation already has an active "
                f"response in progress: {self.response_id}. Wait until the response is finished "
                "before creating a new one.",
                event_id=event.get("event_id"),
            )
            return
        if self.pending_calls:
            self.problem(f"response.create before the output of {sorted(self.pending_calls.values())}")
        trigger = (
            "tool_output"
            if self._last_is("function_call_output")
            else (
                "text"
                if self._last_is("message") and self.items[self.last_item or ""].get("role") == "user"
                else "start"
            )
        )
        await self.start_response(trigger)

    async def on_response_cancel(self, event: dict[str, Any]) -> None:
        if self.response is None or self.response.done():
            await self.error("response_cancel_not_active", "Cancellation failed: no active response found.")
            return
        self.cancel_reason = "client_cancelled"

    def _last_is(self, item_type: str) -> bool:
        return self.last_item is not None and self.items[self.last_item].get("type") == item_type

    # ---- server VAD
    def _vad(self) -> dict[str, Any] | None:
        td = (self.session.get("audio") or {}).get("input", {}).get("turn_detection")
        return td if isinstance(td, dict) else None

    async def on_audio(self, audio: bytes) -> None:
        vad = self._vad()
        self.pending += audio
        window = int(SAMPLE_RATE * 0.02) * 2  # 20 ms of PCM16
        while len(self.pending) >= window:
            chunk = np.frombuffer(bytes(self.pending[:window]), dtype="<i2").astype(np.float64)
            del self.pending[:window]
            self.audio_ms += 20
            if vad is None:
                continue
            loud = float(np.sqrt(np.mean(chunk**2))) >= self.server.speech_rms
            silence_limit = vad.get("silence_duration_ms") or {"low": 1500, "medium": 800, "high": 400}.get(
                vad.get("eagerness") or "", 500
            )
            if loud and not self.speaking:
                await self.start_utterance(vad)
            elif self.speaking:
                self.speech_ms += 20
                self.silence_ms = 0 if loud else self.silence_ms + 20
                hear = self.hear_now
                if (
                    hear is not None
                    and hear.drop_after_ms is not None
                    and self.speech_ms >= hear.drop_after_ms
                ):
                    self.conv.transcripts.append(f"[dropped mid-answer] {hear.transcript}")
                    self.hear_now = None
                    self.conv.closed = "dropped"
                    self.ws.transport.abort()
                    return
                if self.silence_ms >= silence_limit:
                    await self.end_utterance()

    async def start_utterance(self, vad: dict[str, Any]) -> None:
        self.speaking, self.speech_ms, self.silence_ms = True, 0.0, 0.0
        self.speech_item = new_id("item")
        self.hear_now = self.heard.pop(0) if self.heard else None  # scripted utterances may drop mid-answer
        self.conv.speech_started += 1
        start = max(0, int(self.audio_ms - 20 - (vad.get("prefix_padding_ms") or 0)))
        await self.send(
            {
                "type": "input_audio_buffer.speech_started",
                "audio_start_ms": start,
                "item_id": self.speech_item,
            }
        )
        if self.response is not None and not self.response.done() and vad.get("interrupt_response", True):
            self.cancel_reason = "turn_detected"  # barge-in: the service cancels the response being spoken

    async def end_utterance(self, manual: bool = False) -> None:
        item_id = self.speech_item or new_id("item")
        if not manual:
            await self.send(
                {
                    "type": "input_audio_buffer.speech_stopped",
                    "audio_end_ms": int(self.audio_ms),
                    "item_id": item_id,
                }
            )
        self.speaking, self.speech_item = False, None
        previous = self.last_item
        await self.send(
            {"type": "input_audio_buffer.committed", "item_id": item_id, "previous_item_id": previous}
        )
        item = {
            "id": item_id,
            "object": "realtime.item",
            "type": "message",
            "role": "user",
            "status": "completed",
            "content": [{"type": "input_audio", "transcript": None}],
        }
        self.items[item_id] = item
        self.last_item = item_id
        await self.send({"type": "conversation.item.added", "previous_item_id": previous, "item": item})
        await self.send({"type": "conversation.item.done", "previous_item_id": previous, "item": item})
        hear = self.hear_now if self.hear_now is not None else self._next_hear()  # transcribed once committed
        self.hear_now = None
        transcript = hear.transcript if hear is not None else ""
        self.conv.transcripts.append(transcript)
        item["content"][0]["transcript"] = transcript
        await self.send(
            {
                "type": "conversation.item.input_audio_transcription.completed",
                "item_id": item_id,
                "content_index": 0,
                "transcript": transcript,
                "usage": {
                    "type": "tokens",
                    "input_tokens": 40,
                    "output_tokens": 12,
                    "total_tokens": 52,
                    "input_token_details": {"audio_tokens": 40, "text_tokens": 0},
                },
            }
        )
        vad = self._vad()
        if not manual and vad is not None and vad.get("create_response", True) and transcript:
            if self.response is not None and not self.response.done():
                await self.response
            await self.start_response("speech")

    def _next_hear(self) -> Hear | None:
        if self.heard:
            return self.heard.pop(0)
        if self.script.hearing is not None:
            hear = self.script.hearing(self.conv)
            return hear if isinstance(hear, Hear) else Hear(hear)
        return None

    # ---- responses
    async def start_response(self, trigger: str) -> None:
        self.output_unanswered = False
        if self.turns:
            turn = self.turns.pop(0)
        elif self.script.policy is not None:
            turn = Turn(list(self.script.policy(self.conv, trigger)))
        else:
            self.conv.responses.append(
                {"status": "completed", "output": [], "trigger": trigger, "extra": True}
            )
            await self._empty_response()
            return
        if turn.trigger is not None and turn.trigger != trigger:
            self.problem(
                f"response {len(self.conv.responses) + 1} was started by {trigger!r}, "
                f"expected {turn.trigger!r}"
            )
        self.response_id = new_id("resp")
        self.cancel_reason = None
        self.response = self.spawn(self.play(turn, self.response_id))

    def _response(
        self, rid: str, status: str, output: list[dict[str, Any]], details: Any = None
    ) -> dict[str, Any]:
        usage = {
            "total_tokens": 1400,
            "input_tokens": 1200,
            "output_tokens": 200,
            "input_token_details": {
                "text_tokens": 1000,
                "audio_tokens": 200,
                "image_tokens": 0,
                "cached_tokens": 800,
                "cached_tokens_details": {"text_tokens": 800, "audio_tokens": 0, "image_tokens": 0},
            },
            "output_token_details": {"text_tokens": 50, "audio_tokens": 150},
        }
        return {
            "object": "realtime.response",
            "id": rid,
            "status": status,
            "status_details": details,
            "output": output,
            "conversation_id": "conv_fake",
            "output_modalities": ["audio"],
            "max_output_tokens": "inf",
            "metadata": None,
            "audio": {
                "output": {
                    "format": {"type": "audio/pcm", "rate": SAMPLE_RATE},
                    "voice": (self.session.get("audio") or {}).get("output", {}).get("voice"),
                }
            },
            "usage": usage if status != "in_progress" else None,
        }

    async def _empty_response(self) -> None:
        rid = new_id("resp")
        await self.send({"type": "response.created", "response": self._response(rid, "in_progress", [])})
        await self.send({"type": "response.done", "response": self._response(rid, "completed", [])})

    async def play(self, turn: Turn, rid: str) -> None:
        await self.send({"type": "response.created", "response": self._response(rid, "in_progress", [])})
        output: list[dict[str, Any]] = []
        for index, action in enumerate(turn.actions):
            if isinstance(action, Drop):
                self.conv.closed = "dropped"
                self.ws.transport.abort()
                return
            if isinstance(action, Fail):
                details = {
                    "type": "failed",
                    "error": {"type": action.type, "code": action.code, "message": action.message},
                }
                done = self._response(rid, "failed", output, details)
                self.conv.responses.append(done)
                await self.send({"type": "response.done", "response": done})
                return
            if isinstance(action, Say):
                item = await self.say(action, rid, index)
            else:
                item = await self.call(action, rid, index)
            if item is not None:
                output.append(item)
            if self.cancel_reason:
                break
        status = "cancelled" if self.cancel_reason else "completed"
        details = {"type": "cancelled", "reason": self.cancel_reason} if self.cancel_reason else None
        if self.cancel_reason:
            self.conv.cancelled += 1
        done = self._response(rid, status, output, details)
        self.conv.responses.append(done)
        await self.send({"type": "response.done", "response": done})

    async def _add_output_item(self, item: dict[str, Any], rid: str, index: int) -> None:
        previous = self.last_item
        self.items[item["id"]] = item
        self.last_item = item["id"]
        await self.send(
            {"type": "response.output_item.added", "response_id": rid, "output_index": index, "item": item}
        )
        await self.send({"type": "conversation.item.added", "previous_item_id": previous, "item": item})

    async def say(self, action: Say, rid: str, index: int) -> dict[str, Any]:
        item_id = new_id("item")
        item = {
            "id": item_id,
            "object": "realtime.item",
            "type": "message",
            "role": "assistant",
            "status": "in_progress",
            "content": [],
        }
        await self._add_output_item(item, rid, index)
        ids = {"response_id": rid, "item_id": item_id, "output_index": index, "content_index": 0}
        await self.send(
            {"type": "response.content_part.added", **ids, "part": {"type": "audio", "transcript": ""}}
        )
        words = action.text.split()
        total_ms = action.audio_ms or max(300, 60 * len(words))
        chunks = max(1, math.ceil(total_ms / self.server.chunk_ms))
        spoken: list[str] = []
        for n in range(chunks):
            if self.cancel_reason:
                break
            audio = tone(min(self.server.chunk_ms, total_ms - n * self.server.chunk_ms))
            await self.send(
                {"type": "response.output_audio.delta", **ids, "delta": base64.b64encode(audio).decode()}
            )
            upto = math.ceil(len(words) * (n + 1) / chunks)
            if upto > len(spoken):
                delta = " ".join(words[len(spoken) : upto])
                await self.send(
                    {
                        "type": "response.output_audio_transcript.delta",
                        **ids,
                        "delta": (" " if spoken else "") + delta,
                    }
                )
                spoken = words[:upto]
            await asyncio.sleep(self.server.pace * self.server.chunk_ms / 1000)
        transcript = " ".join(spoken)
        await self.send({"type": "response.output_audio.done", **ids})
        await self.send({"type": "response.output_audio_transcript.done", **ids, "transcript": transcript})
        await self.send(
            {"type": "response.content_part.done", **ids, "part": {"type": "audio", "transcript": transcript}}
        )
        item = {
            **item,
            "status": "incomplete" if self.cancel_reason else "completed",
            "content": [{"type": "output_audio", "transcript": transcript}],
        }
        self.items[item_id] = item
        await self.send(
            {"type": "response.output_item.done", "response_id": rid, "output_index": index, "item": item}
        )
        await self.send({"type": "conversation.item.done", "previous_item_id": None, "item": item})
        return item

    async def call(self, action: Call, rid: str, index: int) -> dict[str, Any]:
        arguments = action.arguments(self.conv) if callable(action.arguments) else action.arguments
        raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
        item_id, call_id = new_id("item"), new_id("call")
        item = {
            "id": item_id,
            "object": "realtime.item",
            "type": "function_call",
            "status": "in_progress",
            "name": action.name,
            "call_id": call_id,
            "arguments": "",
        }
        await self._add_output_item(item, rid, index)
        ids = {"response_id": rid, "item_id": item_id, "output_index": index, "call_id": call_id}
        await self.send({"type": "response.function_call_arguments.delta", **ids, "delta": raw})
        await self.send(
            {"type": "response.function_call_arguments.done", **ids, "arguments": raw, "name": action.name}
        )
        item = {**item, "status": "completed", "arguments": raw}
        self.items[item_id] = item
        self.pending_calls[call_id] = action.name
        self.conv.tool_calls.append((call_id, action.name, arguments))
        await self.send(
            {"type": "response.output_item.done", "response_id": rid, "output_index": index, "item": item}
        )
        await self.send({"type": "conversation.item.done", "previous_item_id": None, "item": item})
        return item
