"""The length-prefixed frames the grader's sandbox and the SQL console use to talk to their worker processes."""

from __future__ import annotations

import os
import threading
import time

import pytest

from interview.sandbox import HEADER, FrameTooLarge, PipeClosed, read_frame, write_frame


def test_a_frame_written_in_pieces_is_read_whole() -> None:
    r, w = os.pipe()
    payload = b"x" * 300_000  # more than one pipe buffer and one read
    data = HEADER.pack(len(payload)) + payload

    def dribble() -> None:
        for i in range(0, len(data), 70_001):
            os.write(w, data[i : i + 70_001])
            time.sleep(0.005)

    writer = threading.Thread(target=dribble)
    writer.start()
    try:
        assert read_frame(r, time.monotonic() + 5, 1 << 20) == payload
    finally:
        writer.join()
        os.close(r)
        os.close(w)


def test_write_frame_and_read_frame_agree_and_frames_do_not_run_together() -> None:
    r, w = os.pipe()
    with os.fdopen(w, "wb") as stream:
        write_frame(stream, b"first")
        write_frame(stream, b"")
        write_frame(stream, b"third")
    try:
        got = [read_frame(r, time.monotonic() + 1, 100) for _ in range(3)]
        assert got == [b"first", b"", b"third"]
        with pytest.raises(PipeClosed):  # the writer is gone
            read_frame(r, time.monotonic() + 1, 100)
    finally:
        os.close(r)


def test_a_silent_worker_misses_the_deadline_and_an_oversized_frame_is_refused() -> None:
    r, w = os.pipe()
    try:
        started = time.monotonic()
        assert read_frame(r, started + 0.1, 100) is None
        assert time.monotonic() - started < 1
        os.write(w, HEADER.pack(101))
        with pytest.raises(FrameTooLarge):
            read_frame(r, time.monotonic() + 1, 100)
    finally:
        os.close(r)
        os.close(w)
