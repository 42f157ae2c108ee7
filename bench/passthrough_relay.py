"""The floor for the Realtime load benchmark: a relay that only moves audio, on the same server stack as Athena.

It speaks the same client protocol as Athena's `/interview` (fastrtc's WebSocket messages, `POST /interview/start`)
and the same Realtime events upstream, served by uvicorn with Athena's SERVER_OPTIONS and talking to the service
with `websockets`, but does nothing else: per frame it parses the JSON, converts mu-law and PCM16 and base64, and
sends. No fastrtc, no agents SDK, no tools, no database. What Athena costs above this, per frame, is what fastrtc,
the SDK and the interview add; what this costs is what any Python relay on this stack pays.

Run as `python bench/realtime_harness.py app --profile relay ...` by the benchmarks.
"""

from __future__ import annotations

import asyncio
import audioop
import base64
import contextlib
import json
from typing import Any

import websockets
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

SESSION = {  # what the fake needs to hear turns: Athena's audio formats and server VAD
    "type": "session.update",
    "session": {
        "type": "realtime",
        "audio": {
            "input": {
                "format": {"type": "audio/pcm", "rate": 24000},
                "turn_detection": {"type": "server_vad", "silence_duration_ms": 500, "create_response": True},
            },
            "output": {"format": {"type": "audio/pcm", "rate": 24000}},
        },
    },
}


def relay_app(upstream_url: str) -> Starlette:
    connections: dict[str, tuple[WebSocket, Any]] = {}

    async def offer(ws: WebSocket) -> None:
        await ws.accept()
        first = json.loads(await ws.receive_text())
        ws_id = str(first.get("websocket_id") or "")
        async with websockets.connect(
            upstream_url,
            compression=None,
            max_size=None,
            additional_headers={"Authorization": "Bearer sk-test-athena"},
        ) as up:
            await up.send(json.dumps(SESSION))
            connections[ws_id] = (ws, up)
            down = asyncio.create_task(_downstream(up, ws))
            try:
                while True:
                    message = json.loads(await ws.receive_text())
                    if message.get("event") == "media":
                        pcm = audioop.ulaw2lin(base64.b64decode(message["media"]["payload"]), 2)
                        await up.send(
                            '{"audio":"'
                            + base64.b64encode(pcm).decode()
                            + '","type":"input_audio_buffer.append"}'
                        )
            except (WebSocketDisconnect, websockets.ConnectionClosed):
                pass
            finally:
                down.cancel()
                connections.pop(ws_id, None)

    async def start(request: Request) -> JSONResponse:
        ws_id = str((await request.json()).get("websocket_id") or "")
        if ws_id not in connections:
            return JSONResponse({"error": "no such connection"}, status_code=404)
        ws, up = connections[ws_id]
        await up.send('{"type":"response.create"}')
        await ws.send_text(json.dumps({"type": "interview", "data": {"status": "live", "message": ""}}))
        return JSONResponse({"session_id": 0, "ref": ws_id, "resumed": False})

    return Starlette(
        routes=[
            WebSocketRoute("/interview/websocket/offer", offer),
            Route("/interview/start", start, methods=["POST"]),
        ]
    )


async def _downstream(up: Any, ws: WebSocket) -> None:
    with contextlib.suppress(websockets.ConnectionClosed, WebSocketDisconnect, RuntimeError):
        async for raw in up:
            if '"response.output_audio.delta"' not in raw[:200]:
                continue
            event = json.loads(raw)
            ulaw = audioop.lin2ulaw(base64.b64decode(event["delta"]), 2)
            await ws.send_text(
                '{"event":"media","media":{"payload":"' + base64.b64encode(ulaw).decode() + '"}}'
            )
