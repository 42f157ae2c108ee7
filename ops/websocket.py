"""uvicorn's WebSocket protocol with flow control that does not cost two system calls per message.

uvicorn's `websockets-sansio` protocol stops reading the socket after every message it queues for the app and
starts again when the app takes it: an `epoll_ctl` to remove the socket and one to add it back for every 20 ms
audio frame of every candidate (about 8% of the app's CPU with 100 interviews; BENCHMARKS.md, Capacity). This
protocol lets up to `HIGH_WATER` messages queue before it stops reading, which still bounds what a client that
sends faster than the app reads can make the server hold.
"""

from __future__ import annotations

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

HIGH_WATER = 32  # messages queued for the app before reading stops (about 0.6 s of audio)


class AudioWebSocketProtocol(WebSocketsSansIOProtocol):
    """`websockets-sansio`, reading paused only when `HIGH_WATER` messages wait for the app."""

    def send_receive_event_to_app(self) -> None:
        if self.read_paused or self.queue.qsize() + 1 >= HIGH_WATER:
            super().send_receive_event_to_app()  # queue it and stop reading until the app has taken them all
            return
        # The parent pauses reading whenever it is not paused already: let it believe it is, then undo that.
        self.read_paused = True
        try:
            super().send_receive_event_to_app()
        finally:
            self.read_paused = False
