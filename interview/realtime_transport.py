"""fastrtc's WebSocket transport for the interview, with a sender that keeps up with real time.

fastrtc 0.0.34's `WebSocketHandler._emit_loop` sends one queued item, then sleeps a fixed 20 ms. The Realtime service
speaks in small chunks at real-time rate, so "send + 20 ms + whatever else the event loop was doing" per chunk is
slower than real time: the queue, and the candidate's delay, grew through every sentence the interviewer spoke
(1.2 s at the median with 50 candidates; BENCHMARKS.md, Capacity). Its audio conversion also went through float32
and back for every chunk.

`PacedWebSocketHandler` replaces that loop (and only that loop) with a pacer on absolute deadlines: it sends what
has queued as soon as it is due, all the audio that queued meanwhile in one message, and keeps at most `LEAD_S`
ahead of real time so that a barge-in can still clear what the candidate has not heard. `InterviewStream` is
fastrtc's `Stream` using it for `/websocket/offer`; WebRTC and telephone connections are fastrtc's own.
"""

from __future__ import annotations

import asyncio
import audioop
import base64
from typing import Any, cast

import numpy as np
from fastapi import WebSocket
from fastrtc import Stream
from fastrtc.tracks import StreamHandlerImpl
from fastrtc.utils import AdditionalOutputs, CloseStream, split_output
from fastrtc.websocket import WebSocketHandler, convert_to_mulaw

LEAD_S = 0.06  # how far ahead of real time the interviewer's audio may be sent


class PacedWebSocketHandler(WebSocketHandler):
    """fastrtc's WebSocket connection with a sender paced on deadlines (see the module docstring)."""

    async def _emit_loop(self) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time()  # when the audio sent so far will have played out
        held: Any = None  # an item taken from the queue behind audio, sent next
        try:
            while not self.quit.is_set():
                output = held if held is not None else await self.queue.get()
                held = None
                if output is None:
                    continue
                frame, extra = split_output(output)
                if isinstance(extra, AdditionalOutputs):
                    self.set_additional_outputs(extra)
                elif isinstance(extra, CloseStream):
                    self._graceful_shutdown_task = asyncio.create_task(self._wait_for_audio_completion())
                    continue
                if not isinstance(frame, tuple) or self.websocket is None or self.stream_id is None:
                    continue
                wait = due - LEAD_S - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                frames = [frame]
                while not self.queue.empty():  # everything that queued meanwhile goes in this message
                    following = self.queue.get_nowait()
                    if following is None:
                        continue
                    if not (isinstance(following, tuple) and split_output(following)[1] is None):
                        held = following
                        break
                    frames.append(following)
                ulaw, seconds = self._mulaw(frames)
                self.playing_durations.append(seconds)
                await self.websocket.send_text(
                    '{"event":"media","media":{"payload":"' + base64.b64encode(ulaw).decode("ascii") + '"}}'
                )
                due = max(due, loop.time()) + seconds
        except asyncio.CancelledError:
            pass

    def _mulaw(self, frames: list[tuple[Any, ...]]) -> tuple[bytes, float]:
        """Mu-law bytes of the frames, and their duration. PCM16 at the output rate (the interview's case) is
        encoded as is; anything else goes through fastrtc's own conversion."""
        target = self.stream_handler.output_sample_rate
        parts, seconds = [], 0.0
        for rate, samples, *_ in frames:
            array = np.asarray(samples)
            seconds += array.shape[-1] / rate
            if rate == target and array.dtype == np.int16 and (array.ndim == 1 or array.shape[0] == 1):
                parts.append(audioop.lin2ulaw(array.astype("<i2", copy=False).tobytes(), 2))
            else:
                parts.append(convert_to_mulaw(array, rate, target_rate=target))
        return b"".join(parts), seconds


class InterviewStream(Stream):
    """fastrtc's Stream, with `PacedWebSocketHandler` for WebSocket clients (the rest is fastrtc's)."""

    async def websocket_offer(self, websocket: WebSocket) -> None:
        handler = cast(StreamHandlerImpl, self.event_handler.copy())  # type: ignore[union-attr]
        handler.phone_mode = False
        connections = cast(dict[str, Any], self.connections)

        async def register(stream_id: str, connection: WebSocketHandler) -> None:
            if len(connections) >= cast(int, self.concurrency_limit):
                await cast(WebSocket, connection.websocket).send_json(
                    {
                        "status": "failed",
                        "meta": {"error": "concurrency_limit_reached", "limit": self.concurrency_limit},
                    }
                )
                await websocket.close()
                return
            connections[stream_id] = [connection]

        connection = PacedWebSocketHandler(
            handler, register, self.clean_up, lambda stream_id: self.set_additional_outputs(stream_id)
        )
        await connection.handle_websocket(websocket)
