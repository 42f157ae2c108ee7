"""Test helpers for Realtime interviews: the app served on 127.0.0.1, and a voice client on /interview.

The client speaks fastrtc's WebSocket transport like a phone gateway or a script would: `start` with a
websocket_id, then mu-law audio frames (24 kHz here, the handler's rate) both ways, and JSON status messages.
"""

from __future__ import annotations

import asyncio
import audioop
import base64
import json
import math
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import numpy as np
import uvicorn
import websockets

from app import SERVER_OPTIONS

RATE = 24_000
FRAME_MS = 20


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve(api: Any, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve an ASGI app with uvicorn in a thread; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            api,
            host=host,
            port=port,
            log_config=None,
            lifespan="on",
            **{**SERVER_OPTIONS, "timeout_graceful_shutdown": 5},  # served as app.py serves it
        )  # fmt: skip
    )
    thread = threading.Thread(target=server.run, name="athena-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def speech(ms: int, freq: float = 220.0, amplitude: int = 9000) -> np.ndarray:
    """A loud tone standing in for speech (the fake's VAD hears energy, the script supplies the words)."""
    n = int(RATE * ms / 1000)
    t = np.arange(n) / RATE
    return (amplitude * np.sin(2 * math.pi * freq * t)).astype(np.int16)


def silence(ms: int) -> np.ndarray:
    return np.zeros(int(RATE * ms / 1000), dtype=np.int16)


class VoiceClient:
    """One WebSocket voice connection to /interview/websocket/offer."""

    def __init__(self, base_url: str, path: str = "/interview") -> None:
        self.base_url = base_url
        self.path = path
        self.websocket_id = uuid.uuid4().hex[:12]
        self.audio_frames = 0
        self.audio_bytes = 0
        self.messages: list[dict[str, Any]] = []
        self.ws: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._send_input = asyncio.Event()

    async def __aenter__(self) -> VoiceClient:
        url = self.base_url.replace("http://", "ws://") + f"{self.path}/websocket/offer"
        self.ws = await websockets.connect(url, max_size=None)
        await self.ws.send(json.dumps({"event": "start", "websocket_id": self.websocket_id}))
        self._reader = asyncio.create_task(self._read())
        await asyncio.wait_for(self._send_input.wait(), 10)  # the handler asks for its inputs
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            self._reader.cancel()

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                message = json.loads(raw)
                if message.get("event") == "media":
                    self.audio_frames += 1
                    self.audio_bytes += len(base64.b64decode(message["media"]["payload"]))
                elif message.get("type") == "send_input":
                    self._send_input.set()
                else:
                    self.messages.append(message)
        except websockets.ConnectionClosed:
            pass

    async def start(self, employee_id: str, **fields: Any) -> dict[str, Any]:
        async with httpx.AsyncClient(base_url=self.base_url, timeout=10) as http:
            reply = await http.post(
                f"{self.path}/start",
                json={"websocket_id": self.websocket_id, "employee_id": employee_id, **fields},
            )
        body = reply.json()
        if reply.status_code != 200:
            raise AssertionError(f"/start failed: {reply.status_code} {body}")
        return body

    async def send(self, samples: np.ndarray, pace: float = 0.1) -> None:
        """Send audio in 20 ms mu-law frames, `pace` times real time (0.1: ten times faster)."""
        step = RATE * FRAME_MS // 1000
        for i in range(0, len(samples), step):
            frame = samples[i : i + step].astype("<i2").tobytes()
            payload = base64.b64encode(audioop.lin2ulaw(frame, 2)).decode()
            await self.ws.send(json.dumps({"event": "media", "media": {"payload": payload}}))
            await asyncio.sleep(pace * FRAME_MS / 1000)

    async def say(self, ms: int = 600, then_silence_ms: int = 700) -> None:
        """An utterance: speech, then enough silence for the turn to end."""
        await self.send(np.concatenate([speech(ms), silence(then_silence_ms)]))

    def statuses(self) -> list[str]:
        """The statuses reported, each change once."""
        seen: list[str] = []
        for m in self.messages:
            if m.get("type") == "interview" and (not seen or seen[-1] != m["data"]["status"]):
                seen.append(m["data"]["status"])
        return seen

    def last(self) -> dict[str, Any]:
        found = [m["data"] for m in self.messages if m.get("type") == "interview"]
        return found[-1] if found else {}

    async def wait_for_status(self, status: str, timeout: float = 15.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for m in self.messages:
                if m.get("type") == "interview" and m["data"]["status"] == status:
                    return m["data"]
            await asyncio.sleep(0.02)
        raise AssertionError(
            f"no {status!r} status within {timeout:g} s; statuses: {self.statuses()}; last: {self.last()}"
        )


async def wait_until(predicate: Any, timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
