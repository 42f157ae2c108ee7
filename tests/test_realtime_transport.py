"""The per-frame path of a Realtime interview, below the SDK session: the WebSocket sender's pacing and
coalescing (interview/realtime_transport.py), the lean SDK model (interview/realtime.py) and the heap settled at
start-up (app.py). End to end, tests/test_realtime.py runs full interviews over the same code."""

from __future__ import annotations

import asyncio
import audioop
import base64
import gc
import inspect
import json
import time
from typing import Any

import numpy as np
import pytest
from agents.realtime.openai_realtime import OpenAIRealtimeWebSocketModel
from fastrtc import AdditionalOutputs, AsyncStreamHandler, CloseStream
from fastrtc.websocket import convert_to_mulaw
from openai.types.realtime import InputAudioBufferAppendEvent

from app import settle_heap
from interview.realtime import LeanRealtimeModel, append_audio_json
from interview.realtime_transport import LEAD_S, PacedWebSocketHandler

RATE = 24_000


class Handler(AsyncStreamHandler):
    def __init__(self) -> None:
        super().__init__(expected_layout="mono", output_sample_rate=RATE, input_sample_rate=RATE)

    def copy(self) -> Handler:
        return Handler()

    async def receive(self, frame: Any) -> None:
        return None

    async def emit(self) -> Any:
        return None


class Socket:
    """What the sender writes to, with the time of each message; `log` interleaves it with page outputs."""

    def __init__(self, log: list[tuple[str, Any, float]]) -> None:
        self.log = log

    async def send_text(self, text: str) -> None:
        self.log.append(("media", base64.b64decode(json.loads(text)["media"]["payload"]), time.monotonic()))


def audio(ms: int, seed: int) -> tuple[int, np.ndarray]:
    samples = np.random.default_rng(seed).integers(-20000, 20000, RATE * ms // 1000, dtype=np.int16)
    return RATE, samples.reshape(1, -1)


async def run_sender(
    items: list[Any], until: int, later: list[Any] | None = None
) -> list[tuple[str, Any, float]]:
    """Queue `items`, run the sender until `until` log entries, queueing `later` after the first message."""
    log: list[tuple[str, Any, float]] = []
    connection = PacedWebSocketHandler(Handler(), None, lambda _: None, lambda _: None)  # type: ignore[arg-type]
    connection.websocket = Socket(log)  # type: ignore[assignment]
    connection.stream_id = "test"
    connection.set_additional_outputs = lambda outputs: log.append(
        ("outputs", outputs.args, time.monotonic())
    )
    for item in items:
        connection.queue.put_nowait(item)
    sender = asyncio.create_task(connection._emit_loop())
    try:
        while later is not None and not log:
            await asyncio.sleep(0.001)
        for item in later or []:
            connection.queue.put_nowait(item)
        while len(log) < until:
            await asyncio.sleep(0.002)
        await asyncio.sleep(0.05)  # nothing more should follow
    finally:
        sender.cancel()
        await asyncio.gather(sender, return_exceptions=True)
    if connection._graceful_shutdown_task is not None:
        connection._graceful_shutdown_task.cancel()
    return log


def test_audio_queued_together_goes_out_as_one_message_of_exact_mulaw() -> None:
    frames = [audio(20, seed) for seed in range(5)]
    log = asyncio.run(asyncio.wait_for(run_sender([None, *frames], until=1), 10))
    assert [kind for kind, *_ in log] == ["media"]
    pcm = np.concatenate([f[1] for f in frames], axis=1)
    assert log[0][1] == audioop.lin2ulaw(pcm.astype("<i2").tobytes(), 2) and len(log[0][1]) == 5 * 480
    # fastrtc's own conversion goes through float32 and back (x 32767/32768): at most one code apart
    theirs = np.frombuffer(convert_to_mulaw(pcm, RATE, RATE), np.uint8).astype(int)
    assert np.abs(np.frombuffer(log[0][1], np.uint8).astype(int) - theirs).max() <= 1


def test_the_interviewer_is_never_sent_more_than_the_lead_ahead_of_real_time() -> None:
    """Half a second of speech, then a chunk queued at once: it waits until the first has nearly played out
    (a bound from below, which a slow machine cannot break), so a barge-in can still clear it."""
    log = asyncio.run(asyncio.wait_for(run_sender([audio(500, 1)], until=2, later=[audio(20, 2)]), 10))
    assert [len(payload) for _, payload, _ in log] == [12_000, 480]
    assert log[1][2] - log[0][2] >= 0.5 - LEAD_S - 0.005


def test_page_outputs_keep_their_place_between_audio_and_a_close_ends_the_stream() -> None:
    items = [audio(20, 1), AdditionalOutputs("ref", "live"), audio(20, 2), audio(20, 3), CloseStream("done")]
    log = asyncio.run(asyncio.wait_for(run_sender(items, until=3), 10))
    assert [kind for kind, *_ in log] == ["media", "outputs", "media"]
    assert log[1][1] == ("ref", "live") and len(log[2][1]) == 2 * 480


def test_append_audio_json_is_what_the_sdk_would_have_sent() -> None:
    pcm = np.arange(-480, 480, dtype="<i2").tobytes()
    ours = append_audio_json(pcm)
    sdk = InputAudioBufferAppendEvent(
        type="input_audio_buffer.append", audio=base64.b64encode(pcm).decode()
    ).model_dump_json(exclude_unset=True)
    assert ours == sdk
    assert InputAudioBufferAppendEvent.model_validate_json(ours).audio == base64.b64encode(pcm).decode()


@pytest.mark.parametrize(
    "name",
    [
        "_create_websocket_connection",
        "_send_audio",
        "_handle_ws_event",
        "_send_tool_output",
        "_send_response_create_when_idle",
    ],
)
def test_the_lean_model_overrides_methods_the_pinned_sdk_still_has(name: str) -> None:
    """Both overrides replace private methods of openai-agents 0.22.2: an upgrade that renames or reshapes them
    must fail here, not silently bring back the slow path."""
    parent = getattr(OpenAIRealtimeWebSocketModel, name)
    ours = getattr(LeanRealtimeModel, name)
    assert ours is not parent
    assert list(inspect.signature(ours).parameters) == list(inspect.signature(parent).parameters)


def test_settle_heap_puts_start_up_objects_beyond_the_collector() -> None:
    try:
        settle_heap()
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()


def test_webrtc_input_reaches_the_model_one_20_ms_frame_at_a_time() -> None:
    """Browsers send 20 ms of 48 kHz stereo; each becomes 480 samples at 24 kHz at once (fastrtc's resampler
    made 40 ms frames: every other frame waited 20 ms for the next)."""
    import fractions

    import av

    from interview.realtime_audio import RealtimeInterviewHandler

    handler = RealtimeInterviewHandler(None, None)  # type: ignore[arg-type]
    sizes = []
    for i in range(10):
        frame = av.AudioFrame.from_ndarray(
            np.zeros((1, 2 * 960), dtype=np.int16), format="s16", layout="stereo"
        )
        frame.sample_rate, frame.pts, frame.time_base = 48_000, i * 960, fractions.Fraction(1, 48_000)
        sizes.append([out.samples for out in handler.resample(frame)])
    assert sizes[1:] == [[480]] * 9


def test_audio_deltas_reach_the_session_as_the_sdk_would_deliver_them_without_the_raw_copy() -> None:
    """A whole delta takes the lean path: one audio event, the SDK's playback tracking updated (barge-in needs
    it), no raw copy. A delta missing a field takes the SDK's own path (which reports it)."""

    async def scenario() -> tuple[list[Any], list[Any], Any]:
        model = LeanRealtimeModel()
        seen: list[Any] = []

        class Listener:
            async def on_event(self, event: Any) -> None:
                seen.append(event)

        model.add_listener(Listener())  # type: ignore[arg-type]
        pcm = np.arange(480, dtype="<i2").tobytes()
        delta = {
            "type": "response.output_audio.delta", "event_id": "e1", "response_id": "r1", "item_id": "i1",
            "output_index": 0, "content_index": 0, "delta": base64.b64encode(pcm).decode(),
        }  # fmt: skip
        await model._handle_ws_event(delta)
        whole = list(seen)
        seen.clear()
        await model._handle_ws_event({k: v for k, v in delta.items() if k != "item_id"})
        return whole, seen, model._audio_state_tracker.get_last_audio_item()

    whole, broken, last = asyncio.run(scenario())
    assert [e.type for e in whole] == ["audio"]
    assert whole[0].data == np.arange(480, dtype="<i2").tobytes() and whole[0].item_id == "i1"
    assert last == ("i1", 0)
    assert [e.type for e in broken][:1] == ["raw_server_event"] and "error" in [e.type for e in broken]


def test_a_response_is_asked_for_only_once_every_open_call_has_its_output() -> None:
    """Two calls open (the candidate talked over the interviewer): the first output goes without response.create,
    the second with it, so the model goes on with both results."""
    from agents.realtime.model_events import RealtimeModelToolCallEvent
    from agents.realtime.model_inputs import RealtimeModelSendToolOutput

    class Wire:
        def __init__(self) -> None:
            self.sent: list[dict[str, Any]] = []

        async def send(self, payload: str) -> None:
            self.sent.append(json.loads(payload))

    def call_done(call_id: str) -> dict[str, Any]:
        return {
            "type": "response.output_item.done", "event_id": f"e-{call_id}", "response_id": "r", "output_index": 0,
            "item": {"id": f"item-{call_id}", "type": "function_call", "status": "completed", "call_id": call_id,
                     "name": "next_question", "arguments": "{}", "object": "realtime.item"},
        }  # fmt: skip

    async def output(model: LeanRealtimeModel, call_id: str) -> None:
        call = RealtimeModelToolCallEvent(name="next_question", call_id=call_id, arguments="{}")
        await model._send_tool_output(
            RealtimeModelSendToolOutput(tool_call=call, output="{}", start_response=True)
        )
        await asyncio.sleep(0.05)  # the SDK sends response.create from a task

    async def scenario() -> list[list[str]]:
        model = LeanRealtimeModel()
        wire = Wire()
        model._websocket = wire  # type: ignore[assignment]
        steps = []
        for event in (call_done("a"), call_done("b")):
            await model._handle_ws_event(event)
        for call_id in ("a", "b"):
            await output(model, call_id)
            steps.append([e["type"] for e in wire.sent])
            wire.sent.clear()
        return steps

    first, second = asyncio.run(scenario())
    assert first == ["conversation.item.create"]
    assert second == ["conversation.item.create", "response.create"]


def test_a_response_held_back_by_a_running_one_still_waits_for_calls_that_one_opened() -> None:
    """The race the soak flagged: a tool's output arrives while the service runs another response (the candidate
    spoke), so the SDK holds its response.create until that response is done. If that response opened a call of
    its own, the held response.create must wait for that call's output too, or the model goes on without it."""
    from agents.realtime.model_events import RealtimeModelToolCallEvent
    from agents.realtime.model_inputs import RealtimeModelSendToolOutput

    class Wire:
        def __init__(self) -> None:
            self.sent: list[dict[str, Any]] = []

        async def send(self, payload: str) -> None:
            self.sent.append(json.loads(payload))

    def response(kind: str, rid: str) -> dict[str, Any]:
        status = "in_progress" if kind == "created" else "completed"
        body = {"id": rid, "object": "realtime.response", "status": status, "output": []}
        return {"type": f"response.{kind}", "event_id": f"e-{kind}-{rid}", "response": body}

    def call_done(call_id: str, rid: str) -> dict[str, Any]:
        return {
            "type": "response.output_item.done", "event_id": f"e-{call_id}", "response_id": rid, "output_index": 0,
            "item": {"id": f"item-{call_id}", "type": "function_call", "status": "completed", "call_id": call_id,
                     "name": "log_response_evaluation", "arguments": "{}", "object": "realtime.item"},
        }  # fmt: skip

    async def scenario() -> list[list[str]]:
        model = LeanRealtimeModel()
        wire = Wire()
        model._websocket = wire  # type: ignore[assignment]
        steps: list[list[str]] = []

        async def step(*events: dict[str, Any], output: str | None = None) -> None:
            for event in events:
                await model._handle_ws_event(event)
            if output is not None:
                call = RealtimeModelToolCallEvent(
                    name="log_response_evaluation", call_id=output, arguments="{}"
                )
                await model._send_tool_output(
                    RealtimeModelSendToolOutput(tool_call=call, output="{}", start_response=True)
                )
            await asyncio.sleep(0.05)  # the SDK sends response.create from a task
            steps.append([e["type"] for e in wire.sent])
            wire.sent.clear()

        await step(response("created", "r0"), call_done("a", "r0"), response("done", "r0"))
        await step(response("created", "r1"))  # the service starts another response while tool a runs
        await step(output="a")  # held: r1 is running
        await step(call_done("b", "r1"), response("done", "r1"))  # r1 opened call b and ended
        await step(output="b")
        return steps

    assert asyncio.run(scenario()) == [
        [],
        [],
        ["conversation.item.create"],
        [],  # not response.create: call b is open
        ["conversation.item.create", "response.create"],
    ]
