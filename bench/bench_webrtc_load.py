"""Realtime interviews over WebRTC: N candidates (aiortc peers) against one app process; the delay Athena adds.

The WebRTC counterpart of bench_realtime_load.py. For each N: a fresh app process (SQLite in a temp directory) and
a fake Realtime service process (bench/realtime_harness.py, with `--onsets`); N aiortc peers in this process each
make the offer/answer on the app's fastrtc Stream (`POST /interview/webrtc/offer` with {sdp, type, webrtc_id} and
a "text" data channel, as the browser component does), start an interview with `POST /interview/start` naming that
webrtc_id, and stream 48 kHz audio in real time as 20 ms frames: silence, and 1.2 s of a 220 Hz tone every 10 s.
The fake answers each utterance with tool calls and 20 ms chunks of a 440 Hz tone in real time.

Opus is lossy, so frames cannot carry markers; the benchmark times onsets instead (all processes read the same
CLOCK_MONOTONIC):
- candidate → model: the client notes when its track hands the first tone frame of a burst to aiortc; the fake
  notes when the first loud audio of that utterance arrives after silence.
- model → candidate: the fake notes when it sends the first chunk of a spoken reply after >= 300 ms without
  audio; the client notes when the first loud packet arrives after >= 150 ms of quiet. The client decodes every
  packet itself on arrival, bypassing its own aiortc jitter buffer, so a listener's buffering is not counted.
Resolution: each onset is found to one 20 ms frame (Opus's 6.5 ms look-ahead shifts a tone's start within it),
so read the figures as ±20 ms. They include the Opus encoder and decoder and the app's receive path: aiortc's
jitter buffer holds 4 packets (80 ms) before decoding, so candidate → model has a floor of about 100 ms that is
the WebRTC stack's, not load (Athena's handler resamples input in 20 ms frames; fastrtc's own made 40 ms). Onsets are few (about one per candidate per 10 s each way),
so at small N the p99 is the maximum of a handful.

Figures per N: onset delay each way (p50, p99, max) and missed onsets, the app process's CPU (% of one core)
and resident memory (total, and the growth over the idle app per session), and the CPU of the fake and of the
clients (they share the machine). The knee is the first N whose p99 exceeds the first level's p50 by more than
50 ms in either direction.

WebRTC needs a non-loopback address (aioice skips 127.0.0.1): unless 10.77.0.1 and 10.77.0.2 are already local,
the script re-runs itself under `unshare -n` with a veth pair between them (root needed), so no packet leaves the
machine; both sides use empty ICE server lists.

    python bench/bench_webrtc_load.py            # N = 1, 5, 10, 20; 30 s measured per N (about 4 minutes)
    python bench/bench_webrtc_load.py --quick    # N = 1, 5; 15 s each (about 1.5 minutes)
    python bench/bench_webrtc_load.py --n 1 10 --seconds 60

Writes bench/results/webrtc_load.json and the plot bench/results/webrtc_latency_vs_n.html.
"""

from __future__ import annotations

import argparse
import asyncio
import fractions
import json
import logging
import math
import os
import shlex
import socket
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from realtime_harness import (  # noqa: E402
    ROOT,
    OnsetDetector,
    Processes,
    can_pin,
    level_figures,
    machine,
    match_onsets,
    measure_window,
    pin_self,
    rms,
    save_plot,
    summary,
)

RESULTS = Path(__file__).resolve().parent / "results"
APP_ADDRESS, CLIENT_ADDRESS = "10.77.0.1", "10.77.0.2"  # tests/browser/support.py NETNS_SETUP
INSIDE = "ATHENA_BENCH_NETNS"
RATE = 48_000
FRAME = RATE // 50  # 960 samples: 20 ms
KNEE_MS = 50.0  # p99 this far above the unloaded p50
log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------------- network
def have_private_network() -> bool:
    """True when both veth addresses are local (so WebRTC can connect without leaving the machine)."""
    for address in (APP_ADDRESS, CLIENT_ADDRESS):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                s.bind((address, 0))
            except OSError:
                return False
    return True


def rerun_in_private_network() -> None:
    """Replace this process with itself under `unshare -n`, with the veth pair up."""
    sys.path.insert(0, str(ROOT))
    from tests.browser.support import NETNS_SETUP, netns_missing

    if os.environ.get(INSIDE):
        raise SystemExit(f"inside the private network but {APP_ADDRESS} is not local: the setup failed")
    why = netns_missing()
    if why:
        raise SystemExit(f"WebRTC needs a private network and {why}")
    command = (
        f"{NETNS_SETUP} && exec {shlex.join([sys.executable, os.path.abspath(sys.argv[0]), *sys.argv[1:]])}"
    )
    os.execvpe("unshare", ["unshare", "-n", "bash", "-c", command], {**os.environ, INSIDE: "1"})


# ---------------------------------------------------------------------------------------------------- the client
def _microphone(speak_ms: int, cycle_ms: int, on_burst: Any, slips: list[float]) -> Any:
    """An aiortc audio track: silence, and a tone for `speak_ms` from 2 s into every `cycle_ms`, in real time."""
    import av
    from aiortc import MediaStreamTrack
    from aiortc.mediastreams import MediaStreamError

    t = np.arange(RATE) / RATE
    tone = (9000 * np.sin(2 * math.pi * 220 * t)).astype(np.int16)  # one second, loops seamlessly
    silence = np.zeros(FRAME, dtype=np.int16)

    class Microphone(MediaStreamTrack):
        kind = "audio"

        def __init__(self) -> None:
            super().__init__()
            self.k = 0
            self.start: float | None = None

        async def recv(self) -> Any:
            if self.readyState != "live":
                raise MediaStreamError
            if self.start is None:
                self.start = time.monotonic()
            delay = self.start + self.k * 0.02 - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            slips.append(max(0.0, -delay))
            in_cycle = (self.k * 20) % cycle_ms
            speaking = 2000 <= in_cycle < 2000 + speak_ms
            at = (self.k % 50) * FRAME
            samples = tone[at : at + FRAME] if speaking else silence
            frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = RATE, self.k * FRAME, fractions.Fraction(1, RATE)
            self.k += 1
            if in_cycle == 2000:
                on_burst(time.monotonic())
            return frame

    return Microphone()


def _listen(receiver: Any, on_level: Any) -> None:
    """Decode each audio packet as it arrives and report (arrival time, level); aiortc's own receive path (its
    jitter buffer, then a decoder thread) is bypassed: the client only listens for onsets."""
    import av

    decoder = av.CodecContext.create("libopus", "r")

    async def handle(packet: Any, arrival_time_ms: int) -> None:
        t = time.monotonic()
        if not packet.payload:
            return
        try:
            frames = decoder.decode(av.Packet(packet.payload))
        except av.FFmpegError:
            return
        for frame in frames:
            on_level(t, rms(frame.to_ndarray()))

    receiver._handle_rtp_packet = handle


@dataclass
class WebRTCCrowd:
    """N candidates on aiortc peer connections; each runs interviews back to back until `stop`."""

    base_url: str
    speak_ms: int = 1200
    cycle_ms: int = 10_000
    bursts: list[tuple[str, float]] = field(default_factory=list)  # (employee id, t) tone bursts sent
    heard: list[tuple[str, float]] = field(default_factory=list)  # (employee id, t) reply onsets heard
    slips: list[float] = field(default_factory=list)  # how late the client produced each frame (its own lag)
    errors: list[str] = field(default_factory=list)
    interviews: int = 0
    live: set[int] = field(default_factory=set)  # clients that have heard the interviewer on this connection
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def client(self, cid: int, http: Any) -> None:
        n = 0
        while not self.stop.is_set():
            n += 1
            try:
                await self._interview(cid, f"B{cid:04d}-{n}", http)
            except (OSError, RuntimeError, TimeoutError, ValueError) as exc:
                self.errors.append(f"client {cid}: {type(exc).__name__}: {exc}"[:300])
                await asyncio.sleep(1)
            finally:
                self.live.discard(cid)

    async def _interview(self, cid: int, employee: str, http: Any) -> None:
        """One connection: offer/answer, start the interview, stream until `stop` or the connection ends."""
        from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

        webrtc_id = uuid.uuid4().hex[:12]
        detector = OnsetDetector(threshold=500.0, quiet_s=0.15)
        started = False

        def burst(t: float) -> None:
            if cid in self.live:
                self.bursts.append((employee, t))

        def level(t: float, value: float) -> None:
            if detector.feed(t, value) and started:
                self.heard.append((employee, t))
                self.live.add(cid)

        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        connected, ended = asyncio.Event(), asyncio.Event()

        @pc.on("connectionstatechange")
        def _state() -> None:
            if pc.connectionState == "connected":
                connected.set()
            elif pc.connectionState in ("failed", "closed"):
                ended.set()

        try:
            pc.createDataChannel("text")  # fastrtc starts the handler once the data channel is open
            pc.addTrack(_microphone(self.speak_ms, self.cycle_ms, burst, self.slips))
            _listen(pc.getTransceivers()[0].receiver, level)
            await pc.setLocalDescription(await pc.createOffer())
            offer = {"sdp": pc.localDescription.sdp, "type": "offer", "webrtc_id": webrtc_id}
            answer = (await http.post("/interview/webrtc/offer", json=offer)).json()
            if "sdp" not in answer:
                raise RuntimeError(f"offer refused: {json.dumps(answer)[:200]}")
            await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type=answer["type"]))
            await asyncio.wait_for(connected.wait(), 30)
            reply = await http.post(
                "/interview/start",
                json={"websocket_id": webrtc_id, "employee_id": employee, "name": f"Bench {cid}"},
            )
            if reply.status_code != 200:
                raise RuntimeError(f"/interview/start: {reply.status_code} {reply.text[:200]}")
            self.interviews += 1
            started = True
            waits = [asyncio.create_task(self.stop.wait()), asyncio.create_task(ended.wait())]
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            for task in waits:
                task.cancel()
            if not self.stop.is_set():
                raise RuntimeError(f"connection {pc.connectionState}")
        finally:
            await pc.close()

    async def run(self, n: int, ramp_per_s: float = 10.0) -> list[asyncio.Task[None]]:
        import httpx

        http = httpx.AsyncClient(base_url=self.base_url, timeout=60, trust_env=False)
        tasks = []
        for cid in range(n):
            tasks.append(asyncio.create_task(self.client(cid, http)))
            await asyncio.sleep(1 / ramp_per_s)
        return tasks


# ---------------------------------------------------------------------------------------------------- a level
def onset_summary(ms: np.ndarray, missed: int) -> dict[str, Any]:
    figures = summary(ms, missed)
    out = {"onsets": figures.pop("frames"), "missed": figures.pop("dropped")}
    if ms.size:
        out.update(
            min_ms=round(float(ms.min()), 1), **{k: figures[k] for k in ("p50_ms", "p99_ms", "max_ms")}
        )
    return out


async def measure(n: int, seconds: float, settle_s: float, pin: bool = False) -> dict[str, Any]:
    """One load level on fresh processes."""
    with tempfile.TemporaryDirectory(prefix="athena-webrtc-") as tmp:
        procs = Processes(Path(tmp), host=APP_ADDRESS)
        try:
            await procs.start(max_connections=max(20, n + 20), onsets=True, pin=pin)
            crowd = WebRTCCrowd(procs.base_url)
            window = await measure_window(
                procs, crowd, n, seconds, settle_s, live_wait_per_n=0.5, in_flight_s=2.5, stop_grace_s=30
            )
        finally:
            await procs.close()
    upstream, t0, t1 = window.upstream, window.t0, window.t1
    c2u = onset_summary(*match_onsets(crowd.bursts, [tuple(x) for x in upstream["c2u_onsets"]], t0, t1))
    u2c = onset_summary(*match_onsets([tuple(x) for x in upstream["u2c_onsets"]], crowd.heard, t0, t1))
    return {
        "n": n,
        "live": window.live,
        "seconds": round(t1 - t0, 1),
        "client_to_upstream": c2u,
        "upstream_to_client": u2c,
        **level_figures(window, crowd, n),
    }


def knee(levels: list[dict[str, Any]]) -> int | None:
    """The first N whose p99 exceeds the first level's p50 by more than KNEE_MS in either direction."""
    directions = ("client_to_upstream", "upstream_to_client")
    floor = {d: levels[0][d].get("p50_ms", 0.0) for d in directions} if levels else {}
    for level in levels:
        if any(level[d].get("p99_ms", math.inf) > floor[d] + KNEE_MS for d in directions):
            return int(level["n"])
    return None


def plot(levels: list[dict[str, Any]], path: Path, title: str) -> None:
    import plotly.graph_objects as go

    fig = go.Figure()
    ns = [lv["n"] for lv in levels]
    for direction, name in (
        ("client_to_upstream", "candidate → model"),
        ("upstream_to_client", "model → candidate"),
    ):
        for stat, dash in (("p50_ms", "dot"), ("p99_ms", "solid")):
            fig.add_scatter(
                x=ns, y=[lv[direction].get(stat) for lv in levels], mode="lines+markers",
                name=f"{name} {stat[:3]}", line={"dash": dash},
            )  # fmt: skip
    fig.add_scatter(
        x=ns, y=[lv["cpu_pct_of_one_core"]["app"] for lv in levels], name="app CPU (% of one core)",
        yaxis="y2", mode="lines+markers", line={"color": "grey"},
    )  # fmt: skip
    fig.update_layout(
        title=title, xaxis_title="concurrent interviews (N)", yaxis_title="onset delay (ms, ±20 ms)",
        yaxis2={"overlaying": "y", "side": "right", "title": "app CPU %"},
    )  # fmt: skip
    save_plot(fig, path)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    from importlib.metadata import version

    info = {**machine(), "aiortc": version("aiortc"), "aioice": version("aioice"), "av": version("av")}
    levels = []
    pin = can_pin()  # as the WebSocket benchmark: the app on core 0, the fake and the peers on core 1
    if pin:
        pin_self()
    for n in args.n:
        level = await measure(n, args.seconds, args.settle, pin=pin)
        levels.append(level)
        c, u = level["client_to_upstream"], level["upstream_to_client"]
        print(
            f"N={n:3d} live={level['live']:3d}  c→u p50 {c.get('p50_ms')} p99 {c.get('p99_ms')} max "
            f"{c.get('max_ms')} ms ({c['onsets']} onsets, {c['missed']} missed)  u→c p50 {u.get('p50_ms')} p99 "
            f"{u.get('p99_ms')} max {u.get('max_ms')} ms ({u['onsets']}, {u['missed']} missed)  app CPU "
            f"{level['cpu_pct_of_one_core']['app']}%  RSS {level['app_rss_mb']} MB "
            f"({level['rss_mb_per_session']} MB/session)  errors {level['error_count']}",
            flush=True,
        )
    info["loadavg_end"] = os.getloadavg()
    return {
        "machine": info,
        "pinned": pin,
        "seconds_per_level": args.seconds,
        "levels": levels,
        "knee_n": knee(levels),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, nargs="+", default=[1, 5, 10, 20], help="load levels")
    parser.add_argument("--seconds", type=float, default=30.0, help="measured seconds per level")
    parser.add_argument(
        "--settle", type=float, default=5.0, help="seconds after all are live, before measuring"
    )
    parser.add_argument("--quick", action="store_true", help="N = 1 and 5 for 15 s each")
    parser.add_argument("--out", default=str(RESULTS / "webrtc_load.json"))
    parser.add_argument("--plot", default=str(RESULTS / "webrtc_latency_vs_n.html"))
    args = parser.parse_args()
    if args.quick:
        args.n, args.seconds = [1, 5], 15.0
    if not have_private_network():
        rerun_in_private_network()
    logging.basicConfig(level=logging.WARNING)
    result = asyncio.run(run(args))
    RESULTS.mkdir(exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    plot(result["levels"], Path(args.plot), "Athena Realtime over WebRTC: onset delay through the app")
    print(
        f"knee (first N with p99 > first p50 + {KNEE_MS:g} ms): {result['knee_n']}; wrote {args.out} and {args.plot}"
    )


if __name__ == "__main__":
    main()
