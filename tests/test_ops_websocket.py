"""ops/websocket.py: uvicorn's WebSocket protocol without a pause and resume of reading per message, and with
reading still paused for a client that sends faster than the app reads. Served by a real uvicorn on 127.0.0.1."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from websockets.sync.client import connect

from app import SERVER_OPTIONS
from ops.websocket import HIGH_WATER, AudioWebSocketProtocol
from tests.realtime_client import free_port


class Recording(AudioWebSocketProtocol):
    """The protocol under test, counting each time it stops reading."""

    instances: list[Recording] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pauses = 0
        Recording.instances.append(self)

    def send_receive_event_to_app(self) -> None:
        was = self.read_paused
        super().send_receive_event_to_app()
        self.pauses += int(self.read_paused and not was)


received: dict[str, list[str]] = {}
release = threading.Event()


async def echo_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Keeps every text message; on /stalled it reads nothing until the test says so."""
    if scope["type"] == "lifespan":
        while (message := await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    await receive()
    await send({"type": "websocket.accept"})
    if scope["path"] == "/stalled":
        while not release.is_set():
            await asyncio.sleep(0.01)
    texts = received.setdefault(scope["path"], [])
    while (message := await receive())["type"] == "websocket.receive":
        texts.append(message["text"])
        if message["text"] == "bye":
            await send({"type": "websocket.send", "text": f"got {len(texts)}"})


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    assert SERVER_OPTIONS["ws"] is AudioWebSocketProtocol  # what app.py serves with
    port = free_port()
    config = uvicorn.Config(
        echo_app, host="127.0.0.1", port=port, log_config=None, lifespan="on",
        **{**SERVER_OPTIONS, "ws": Recording, "timeout_graceful_shutdown": 2},
    )  # fmt: skip
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not instance.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield f"ws://127.0.0.1:{port}"
    instance.should_exit = True
    thread.join(10)


def test_an_app_that_keeps_up_costs_no_pause_per_message(server: str) -> None:
    Recording.instances.clear()
    with connect(f"{server}/steady") as ws:
        for i in range(200):
            ws.send(f"frame {i}")
            time.sleep(0.002)
        ws.send("bye")
        assert ws.recv(timeout=10) == "got 201"
    assert received["/steady"] == [f"frame {i}" for i in range(200)] + ["bye"]
    # uvicorn's own protocol stops and restarts reading for each of the 201 messages
    assert Recording.instances[0].pauses < 20


def test_a_client_flooding_an_app_that_does_not_read_is_held_back(server: str) -> None:
    """Reading stops once HIGH_WATER messages wait: what the server holds is bounded by that plus one socket
    read (asyncio reads up to 256 KiB at a time, all of it parsed); the rest waits in the kernel and the client."""
    Recording.instances.clear()
    release.clear()
    frames = [f"{i:05d}" + "x" * 4000 for i in range(300)]  # 1.2 MB, about an audio frame's size each
    try:
        with connect(f"{server}/stalled") as ws:
            sender = threading.Thread(target=lambda: [ws.send(f) for f in frames], daemon=True)
            sender.start()
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not (
                Recording.instances and Recording.instances[0].read_paused
            ):
                time.sleep(0.01)
            time.sleep(0.3)  # whatever else was going to be read, is
            protocol = Recording.instances[0]
            assert protocol.read_paused
            assert protocol.queue.qsize() <= HIGH_WATER + 256 * 1024 // 4000 + 1 < len(frames)
            release.set()
            sender.join(10)
            ws.send("bye")
            assert ws.recv(timeout=10) == "got 301"
    finally:
        release.set()
    assert received["/stalled"] == [*frames, "bye"]
