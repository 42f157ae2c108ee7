"""The pieces the Realtime load and soak benchmarks share: the app and a fake Realtime service in their own
processes, and a crowd of voice clients on /interview that timestamp every 20 ms audio frame.

Every audio frame carries a marker in its first 14 samples (mu-law codes of a few LSB, inaudible and below the
fake's VAD threshold): a magic pattern, a 16-bit id and a 24-bit sequence number. The client stamps its frames
when it sends them and the fake when it receives them (client to upstream); the fake stamps the frames it speaks
when it sends them and the client when it receives them (upstream to client). All processes read the same
CLOCK_MONOTONIC, so the difference is the time a frame spent in transit through Athena.

Lossy transports (WebRTC's Opus) do not keep the markers; for them the fake runs with `--onsets` and records
onsets instead: when the first loud audio of a candidate's utterance arrives after silence, and when it sends the
first audio chunk of a spoken reply after silence, each keyed by the employee ID in the session's instructions
(see `OnsetDetector` and `match_onsets`).

Roles, run as `python bench/realtime_harness.py app|upstream ...` by the benchmarks (not by hand).
"""

from __future__ import annotations

import argparse
import asyncio
import audioop
import base64
import json
import logging
import math
import os
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RATE = 24_000
MAGIC = bytes([0x72, 0xF9, 0x74, 0xFB])  # small -/+/-/+ values: no tone or silence looks like this
MARK_LEN = len(MAGIC) + 4 + 6  # magic, id (4 nibbles), sequence (6 nibbles)
log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------------- markers
def mark(ident: int, seq: int) -> bytes:
    """The marker as mu-law codes (0xF0 + nibble: tiny positive samples)."""
    nibbles = [(ident >> s) & 15 for s in (12, 8, 4, 0)] + [(seq >> s) & 15 for s in (20, 16, 12, 8, 4, 0)]
    return MAGIC + bytes(0xF0 + n for n in nibbles)


def find_marks(ulaw: bytes) -> list[tuple[int, int]]:
    """Every (id, sequence) marked in a mu-law byte string."""
    found, at = [], ulaw.find(MAGIC)
    while at >= 0 and at + MARK_LEN <= len(ulaw):
        n = [b - 0xF0 for b in ulaw[at + 4 : at + MARK_LEN]]
        if all(0 <= x < 16 for x in n):
            found.append(
                ((n[0] << 12) | (n[1] << 8) | (n[2] << 4) | n[3], int("".join(f"{x:x}" for x in n[4:]), 16))
            )
        at = ulaw.find(MAGIC, at + 1)
    return found


def ulaw_tone(samples: int, freq: float = 220.0, amplitude: int = 9000) -> bytes:
    t = np.arange(samples) / RATE
    return audioop.lin2ulaw((amplitude * np.sin(2 * math.pi * freq * t)).astype("<i2").tobytes(), 2)


# ---------------------------------------------------------------------------------------------------- /proc
def proc_sample(pid: int) -> tuple[float, int]:
    """(CPU seconds used so far, resident bytes) of a process, from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    rss = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) * 1024
    return cpu, rss


def save_plot(fig: Any, path: Path) -> None:
    """The plot as interactive HTML (plotly.js from its CDN) and, where kaleido finds a Chromium, as a PNG beside it
    that opens anywhere (BENCHMARKS.md shows the PNG)."""
    import shutil

    fig.write_html(path, include_plotlyjs="cdn")
    browser = os.environ.get("BROWSER_PATH") or shutil.which("chromium") or shutil.which("google-chrome")
    try:
        import kaleido  # noqa: F401
    except ImportError:
        log.warning("kaleido is not installed: no PNG of %s", path.name)
        return
    if browser is None:
        log.warning("no Chromium for kaleido: no PNG of %s", path.name)
        return
    os.environ.setdefault("BROWSER_PATH", browser)
    fig.write_image(path.with_suffix(".png"), width=1200, height=650)


def machine() -> dict[str, Any]:
    model = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    from importlib.metadata import version

    import fastrtc  # noqa: F401
    import websockets

    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "python": sys.version.split()[0],
        "fastrtc": version("fastrtc"),
        "openai-agents": version("openai-agents"),
        "websockets": websockets.__version__,
        "uvicorn": version("uvicorn"),
        "loadavg_start": os.getloadavg(),
    }


# ---------------------------------------------------------------------------------------------------- processes
@dataclass
class Processes:
    """The fake service and the app, each in its own process; `close()` stops both."""

    workdir: Path
    upstream: Any = None
    app: Any = None
    upstream_port: int = 0
    app_port: int = 0
    host: str = "127.0.0.1"  # where the app listens (WebRTC needs an address other than loopback)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.app_port}"

    async def start(
        self,
        max_connections: int,
        database_url: str | None = None,
        say_ms: int = 3000,
        profile: str = "athena",
        pin: bool = False,
        max_questions: int = 50,
        onsets: bool = False,
    ) -> None:
        """Start both. `profile`: athena (as app.py serves it), stock (the SDK's and uvicorn's defaults) or
        relay (bench/passthrough_relay.py, the floor). `pin` gives the app core 0 to itself and the fake core 1
        (call `pin_self()` to put the clients there too)."""
        py = sys.executable
        script = str(Path(__file__).resolve())
        self.upstream = await asyncio.create_subprocess_exec(
            py, script, "upstream", "--say-ms", str(say_ms), *(["--onsets"] if onsets else []),
            stdout=asyncio.subprocess.PIPE, stderr=open(self.workdir / "upstream.log", "wb"), cwd=ROOT,  # noqa: SIM115
            preexec_fn=_on_cores(LOAD_CORES) if pin else None,
        )  # fmt: skip
        self.upstream_port = await _port(self.upstream, 30, self.workdir / "upstream.log")
        db = database_url or f"sqlite:///{self.workdir / 'athena.db'}"
        self.app = await asyncio.create_subprocess_exec(
            py, script, "app", "--upstream", f"ws://127.0.0.1:{self.upstream_port}/v1/realtime",
            "--host", self.host,
            "--database-url", db, "--max-connections", str(max_connections), "--profile", profile, "--max-questions", str(max_questions),
            stdout=asyncio.subprocess.PIPE, stderr=open(self.workdir / "app.log", "wb"), cwd=ROOT,  # noqa: SIM115
            preexec_fn=_on_cores(APP_CORES) if pin else None,
        )  # fmt: skip
        self.app_port = await _port(self.app, 120, self.workdir / "app.log")

    async def dump_upstream(self) -> dict[str, Any]:
        """The fake's frame records, written to a file on request."""
        import websockets

        target = self.workdir / f"upstream-{uuid.uuid4().hex[:6]}.json"
        url = f"ws://127.0.0.1:{self.upstream_port}/bench/dump?{target}"
        try:
            async with websockets.connect(url, open_timeout=120):  # an overloaded fake answers late
                pass
        except websockets.InvalidStatus as exc:
            if exc.response.status_code != 200:
                raise
        data = json.loads(target.read_text())
        target.unlink()
        return data

    async def close(self) -> None:
        for proc in (self.app, self.upstream):
            if proc is not None and proc.returncode is None:
                proc.terminate()
                try:
                    await asyncio.wait_for(proc.wait(), 15)
                except TimeoutError:
                    proc.kill()
                    await proc.wait()


PROFILES = ("athena", "stock", "relay")
APP_CORES = {0}
LOAD_CORES = {1}


def can_pin() -> bool:
    return hasattr(os, "sched_setaffinity") and len(os.sched_getaffinity(0)) >= 2


def pin_self() -> None:
    """Put this process (the clients) on the load generator's core."""
    os.sched_setaffinity(0, LOAD_CORES)


def _on_cores(cores: set[int]) -> Any:
    def set_affinity() -> None:  # in the child, before exec: every thread it starts inherits it
        os.sched_setaffinity(0, cores)

    return set_affinity


async def _port(proc: Any, timeout: float, logfile: Path) -> int:
    """The port a role process announces on stdout (other lines are skipped)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = await asyncio.wait_for(proc.stdout.readline(), max(0.1, deadline - time.monotonic()))
        if not line:
            break
        if line.startswith(b"BENCH_PORT "):
            return int(line.split()[1])
    raise RuntimeError(f"a benchmark process did not start; see {logfile}")


# ---------------------------------------------------------------------------------------------------- the client
@dataclass
class Crowd:
    """N candidates streaming audio in real time; each runs interviews back to back until `stop`."""

    base_url: str
    speak_ms: int = 1200
    cycle_ms: int = 10_000
    frame_ms: int = 20  # audio per message; the app forwards each message to the model as one append
    sent: list[tuple[int, int, float]] = field(default_factory=list)  # (client, seq, t) frames sent
    received: list[tuple[int, int, float]] = field(default_factory=list)  # (conn, seq, t) frames heard
    slips: list[float] = field(default_factory=list)  # how late the client sent each frame (its own lag)
    errors: list[str] = field(default_factory=list)
    interviews: int = 0
    closed_normally: int = 0
    live: set[int] = field(default_factory=set)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def client(self, cid: int, http: Any) -> None:
        import websockets

        url = self.base_url.replace("http://", "ws://") + "/interview/websocket/offer"
        seq = 0
        size = RATE * self.frame_ms // 1000  # samples (= mu-law bytes) per message
        tone = ulaw_tone(size * 50)
        silence = b"\xff" * size
        n = 0
        while not self.stop.is_set():
            n += 1
            wsid = uuid.uuid4().hex[:12]
            try:
                async with websockets.connect(url, max_size=None, open_timeout=60) as ws:
                    await ws.send(json.dumps({"event": "start", "websocket_id": wsid}))
                    reader = asyncio.create_task(self._read(cid, ws))
                    await asyncio.sleep(0.3)
                    reply = await http.post(
                        "/interview/start",
                        json={"websocket_id": wsid, "employee_id": f"B{cid:04d}-{n}", "name": f"Bench {cid}"},
                    )
                    if reply.status_code != 200:
                        raise RuntimeError(f"/interview/start: {reply.status_code} {reply.text[:200]}")
                    self.interviews += 1
                    loop = asyncio.get_running_loop()
                    start = loop.time()
                    k = 0
                    while not self.stop.is_set() and not reader.done():
                        due = start + k * self.frame_ms / 1000
                        delay = due - loop.time()
                        if delay > 0:
                            await asyncio.sleep(delay)
                        self.slips.append(max(0.0, -delay))
                        in_cycle = (k * self.frame_ms) % self.cycle_ms
                        body = (
                            tone[(k % 50) * size + MARK_LEN : (k % 50 + 1) * size]
                            if 2000 <= in_cycle < 2000 + self.speak_ms
                            else silence[MARK_LEN:]
                        )
                        payload = base64.b64encode(mark(cid, seq) + body).decode()
                        t = time.monotonic()
                        await ws.send('{"event":"media","media":{"payload":"%s"}}' % payload)  # noqa: UP031
                        if cid in self.live:
                            self.sent.append((cid, seq, t))
                        seq = (seq + 1) & 0xFFFFFF
                        k += 1
                    reader.cancel()
            except websockets.ConnectionClosedOK:  # the app closes the connection when the interview ends
                self.closed_normally += 1
            except (OSError, RuntimeError, TimeoutError, websockets.WebSocketException) as exc:
                self.errors.append(f"client {cid}: {type(exc).__name__}: {exc}"[:300])
                await asyncio.sleep(1)
            finally:
                self.live.discard(cid)

    async def _read(self, cid: int, ws: Any) -> None:
        import websockets

        try:
            async for raw in ws:
                t = time.monotonic()
                if '"media"' in raw[:40]:
                    payload = json.loads(raw)["media"]["payload"]
                    for conn, seq in find_marks(base64.b64decode(payload)):
                        self.received.append((conn, seq, t))
                    continue
                message = json.loads(raw)
                if message.get("type") == "interview":
                    status = message["data"]["status"]
                    if status == "live":
                        self.live.add(cid)
                    elif status in ("error", "unavailable"):
                        self.errors.append(f"client {cid}: status {status}: {message['data']['message']}")
                    elif status == "finished":
                        self.live.discard(cid)
        except websockets.ConnectionClosed:
            pass

    async def run(self, n: int, ramp_per_s: float = 25.0) -> list[asyncio.Task[None]]:
        import httpx

        http = httpx.AsyncClient(base_url=self.base_url, timeout=60)
        tasks = []
        for cid in range(n):
            tasks.append(asyncio.create_task(self.client(cid, http)))
            await asyncio.sleep(1 / ramp_per_s)
        return tasks


def latencies(
    sent: list[tuple[int, int, float]], heard: dict[tuple[int, int], float], t0: float, t1: float
) -> tuple[np.ndarray, int]:
    """Transit times (ms) of the frames sent in [t0, t1), and how many of them never arrived."""
    out, lost = [], 0
    for ident, seq, t in sent:
        if t0 <= t < t1:
            got = heard.get((ident, seq))
            if got is None:
                lost += 1
            else:
                out.append((got - t) * 1000)
    return np.array(out), lost


def summary(ms: np.ndarray, lost: int) -> dict[str, Any]:
    if ms.size == 0:
        return {"frames": 0, "dropped": lost}
    return {
        "frames": int(ms.size),
        "p50_ms": round(float(np.percentile(ms, 50)), 2),
        "p99_ms": round(float(np.percentile(ms, 99)), 2),
        "max_ms": round(float(ms.max()), 1),
        "over_20ms_pct": round(100 * float((ms > 20).mean()), 3),
        "late_over_100ms": int((ms > 100).sum()),
        "dropped": lost,
    }


# ---------------------------------------------------------------------------------------------------- a level
@dataclass
class Window:
    """One load level's measured window: its bounds, what each process had used at each end, and what the fake
    service recorded."""

    live: int  # clients live when the window opened
    t0: float
    t1: float
    before: dict[str, tuple[float, int]]  # process -> (CPU seconds, resident bytes), from proc_sample
    after: dict[str, tuple[float, int]]
    idle_rss: int  # the app's before any client connected
    peak_rss: int
    slips: list[float]  # how late the clients produced their frames, inside the window
    upstream: dict[str, Any]


async def measure_window(
    procs: Processes, crowd: Any, n: int, seconds: float, settle_s: float, *,
    live_wait_per_n: float, in_flight_s: float, stop_grace_s: float | None = None,
) -> Window:  # fmt: skip
    """Run `crowd` (a Crowd or the WebRTC one) at N on started processes and measure `seconds` once all are live
    (or the wait ran out) and `settle_s` passed; then stop it, waiting `stop_grace_s` for clients to hang up
    (None: cancel them at once)."""
    await asyncio.sleep(2)
    _, idle_rss = proc_sample(procs.app.pid)
    tasks = await crowd.run(n)
    deadline = time.monotonic() + 60 + n * live_wait_per_n
    while len(crowd.live) < n and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    live = len(crowd.live)
    await asyncio.sleep(settle_s)
    pids = {"app": procs.app.pid, "upstream": procs.upstream.pid, "clients": os.getpid()}
    before = {k: proc_sample(p) for k, p in pids.items()}
    t0 = time.monotonic()
    slips_from = len(crowd.slips)
    peak_rss = before["app"][1]
    while time.monotonic() - t0 < seconds:
        await asyncio.sleep(1)
        peak_rss = max(peak_rss, proc_sample(procs.app.pid)[1])
    t1 = time.monotonic()
    after = {k: proc_sample(p) for k, p in pids.items()}
    await asyncio.sleep(in_flight_s)  # what was in flight at t1 arrives
    upstream = await procs.dump_upstream()
    crowd.stop.set()
    if stop_grace_s is None:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    else:
        await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), stop_grace_s)
    return Window(live, t0, t1, before, after, idle_rss, peak_rss, crowd.slips[slips_from:], upstream)


def level_figures(window: Window, crowd: Any, n: int) -> dict[str, Any]:
    """The figures every load level reports besides its latencies: CPU, memory, the clients' own lag, errors."""
    wall = window.t1 - window.t0
    cpu = {k: round(100 * (window.after[k][0] - window.before[k][0]) / wall, 1) for k in window.before}
    rss = window.after["app"][1]
    slips = sorted(window.slips)
    return {
        "cpu_pct_of_one_core": cpu,
        "app_cpu_ms_per_session_s": round(10 * cpu["app"] / n, 3),
        "app_rss_mb": round(rss / 2**20, 1),
        "app_rss_peak_mb": round(window.peak_rss / 2**20, 1),
        "app_idle_rss_mb": round(window.idle_rss / 2**20, 1),
        "rss_mb_per_session": round((rss - window.idle_rss) / 2**20 / n, 2),
        "client_send_slip_p99_ms": round(1000 * slips[int(0.99 * (len(slips) - 1))], 2) if slips else None,
        "interviews_started": crowd.interviews,
        "errors": crowd.errors[:20],
        "error_count": len(crowd.errors),
        "upstream_problems": window.upstream["problems"][:10],
        "loadavg_end": os.getloadavg(),
    }


# ---------------------------------------------------------------------------------------------------- onsets
def rms(pcm: np.ndarray) -> float:
    """Root mean square of PCM16 samples."""
    return float(np.sqrt(np.mean(np.square(pcm, dtype=np.float64)))) if pcm.size else 0.0


@dataclass
class OnsetDetector:
    """Finds where sound starts after silence in a stream of (time, level) observations, e.g. one per frame.

    An onset is a loud observation (level >= threshold) at least `quiet_s` after the previous loud one (or the
    first loud one ever); a gap with no observations counts as silence.
    """

    threshold: float = 500.0
    quiet_s: float = 0.15
    last_loud: float | None = None

    def feed(self, t: float, level: float) -> bool:
        if level < self.threshold:
            return False
        onset = self.last_loud is None or t - self.last_loud >= self.quiet_s
        self.last_loud = t
        return onset


def match_onsets(
    sent: list[tuple[str, float]], heard: list[tuple[str, float]], t0: float, t1: float, window_s: float = 2.0
) -> tuple[np.ndarray, int]:
    """Delays (ms) from each onset sent in [t0, t1) to the first onset heard with the same key, and the misses.

    A sent onset counts as heard by the first heard onset at or after it, within `window_s` and before the same
    key's next sent onset; otherwise it is missed.
    """
    from bisect import bisect_left

    by_key: dict[str, tuple[list[float], list[float]]] = {}
    for key, t in sent:
        by_key.setdefault(key, ([], []))[0].append(t)
    for key, t in heard:
        if key in by_key:
            by_key[key][1].append(t)
    out, missed = [], 0
    for times, got in by_key.values():
        times.sort()
        got.sort()
        for i, t in enumerate(times):
            if not t0 <= t < t1:
                continue
            limit = min(t + window_s, times[i + 1] if i + 1 < len(times) else math.inf)
            j = bisect_left(got, t)
            if j < len(got) and got[j] < limit:
                out.append((got[j] - t) * 1000)
            else:
                missed += 1
    return np.array(out), missed


def employee_key(instructions: str) -> str | None:
    """The employee ID Athena names in a session's instructions ("... (employee B0001-1) ...")."""
    import re

    found = re.search(r"\(employee ([^)\s]+)\)", instructions or "")
    return found.group(1) if found else None


# ---------------------------------------------------------------------------------------------------- roles
def serve_app(args: argparse.Namespace) -> None:
    """The Athena app, as `python app.py` builds it, on a free port (printed on stdout)."""
    sys.path.insert(0, str(ROOT))
    import uvicorn

    from app import SERVER_OPTIONS, build_app, settle_heap
    from ops.logging import setup_logging
    from settings import load_settings
    from tests.realtime_client import free_port

    if args.profile == "relay":
        from passthrough_relay import relay_app

        port = free_port()
        print(f"BENCH_PORT {port}", flush=True)
        uvicorn.run(
            relay_app(args.upstream), host=args.host, port=port, log_config=None, log_level="warning",
            **SERVER_OPTIONS,
        )  # fmt: skip
        return
    values = {
        "DATABASE_URL": args.database_url,
        "OPENAI_API_KEY": "sk-test-athena",
        "ATHENA_REALTIME_URL": args.upstream,
        "ATHENA_REALTIME_MAX_CONNECTIONS": str(args.max_connections),
        "ATHENA_MAX_QUESTIONS": str(args.max_questions),
        "ATHENA_LOCAL_VOICE": "false",
        "ATHENA_DB_POOL_SIZE": "20",
        "ATHENA_API_RATE_LIMIT": "0",  # every benchmark client is 127.0.0.1: a per-address limit would refuse them
    }
    settings = load_settings(values, env_file=Path(tempfile.gettempdir()) / "athena-bench-absent.env")
    setup_logging(settings.log_level, settings.log_format)
    options: dict[str, Any] = dict(SERVER_OPTIONS)
    if args.profile == "stock":  # the SDK's own WebSocket model, uvicorn's defaults, the GC as it comes
        import interview.realtime as realtime

        realtime.LeanRealtimeModel = realtime.OpenAIRealtimeWebSocketModel  # type: ignore[misc]
        options.update(ws="auto", ws_per_message_deflate=True, loop="asyncio", http="h11")
    app = build_app(settings)
    if os.environ.get("BENCH_GC_TRACE"):
        import gc

        starts: dict[str, float] = {}

        def trace(phase: str, info: dict[str, Any]) -> None:
            if phase == "start":
                starts["t"] = time.perf_counter()
            else:
                ms = (time.perf_counter() - starts.get("t", time.perf_counter())) * 1000
                if ms > 2:
                    with open(os.environ["BENCH_GC_TRACE"], "a") as f:
                        f.write(f"GC gen{info['generation']} {ms:.1f} ms collected {info['collected']}\n")

        gc.callbacks.append(trace)
    if args.profile == "athena":
        settle_heap()
    if os.environ.get("BENCH_CENSUS"):  # diagnosis: which objects accumulate, written every 60 s
        _trace_memory(Path(os.environ["BENCH_CENSUS"]))
    port = free_port()
    print(f"BENCH_PORT {port}", flush=True)
    uvicorn.run(app.api, host=args.host, port=port, log_config=None, log_level="warning", **options)


def _trace_memory(path: Path) -> None:
    """Every 60 s, the object types whose live count grew most since the first census (diagnosis only)."""
    import collections
    import gc
    import threading

    def census() -> collections.Counter[str]:
        return collections.Counter(type(o).__qualname__ for o in gc.get_objects())

    def report() -> None:
        time.sleep(60)
        first = census()
        while True:
            time.sleep(60)
            now = census()
            grown = sorted(((now[k] - first[k], k) for k in now), reverse=True)[:15]
            with path.open("a") as f:
                f.write(
                    f"---- {time.strftime('%H:%M:%S')} " + ", ".join(f"{k} +{d}" for d, k in grown) + "\n"
                )

    threading.Thread(target=report, daemon=True).start()


def serve_upstream(args: argparse.Namespace) -> None:
    """The fake Realtime service (tests/fake_realtime.py) with marked 20 ms audio and frame records."""
    sys.path.insert(0, str(ROOT))
    from tests import fake_realtime as fr

    say_ms = args.say_ms
    c2u: list[tuple[int, int, float]] = []  # (client, seq, t received)
    u2c: list[tuple[int, int, float]] = []  # (conn, seq, t sent)
    onsets = args.onsets  # keep the spoken tone and record onsets instead of marking frames
    c2u_onsets: list[tuple[str, float]] = []  # (employee id, t the first loud audio of an utterance arrived)
    u2c_onsets: list[tuple[str, float]] = []  # (employee id, t a reply's first chunk after silence went out)

    def model(conv: fr.Conversation, trigger: str) -> list[Any]:
        """An interviewer that asks, listens, scores (0.0 for hands-on: no grading) and asks again."""
        asked = [o for o in conv.outputs("next_question") if isinstance(o, dict) and o.get("question_id")]
        if trigger == "start":
            return [fr.Say("Hello, I am Athena.", audio_ms=say_ms // 2), fr.Call("next_question")]
        if trigger == "speech":
            if not asked:
                return [fr.Say("Sorry, one moment.", audio_ms=say_ms // 3)]
            q = asked[-1]
            score = 0.0 if q.get("kind") == "hands_on" else 0.8
            return [
                fr.Call(
                    "log_response_evaluation",
                    {
                        "question_id": q["question_id"],
                        "score": score,
                        "feedback": "Clear.",
                        "evidence": "Named the key point.",
                        "answer_summary": "A short answer.",
                    },
                )  # fmt: skip
            ]
        if not conv.tool_outputs:
            return []
        name, out = conv.last_tool
        out = out if isinstance(out, dict) else {}
        if name == "next_question":
            if out.get("finished"):
                return [fr.Call("generate_session_report")]
            if not out.get("question_id"):
                return []
            return [
                fr.Say(str(out.get("question", "")), audio_ms=say_ms),
                fr.Call(
                    "log_question_asked",
                    {
                        "question_id": out["question_id"],
                        "question_as_asked": out.get("question", ""),
                        "category": out.get("category", ""),
                        "difficulty": out.get("difficulty", ""),
                    },
                ),  # fmt: skip
            ]
        if name == "log_response_evaluation":
            return [fr.Say("Thank you.", audio_ms=say_ms // 3), fr.Call("next_question")]
        if name == "generate_session_report":
            return [fr.Say("That is all. Goodbye.", audio_ms=say_ms // 3)]
        return []

    class Connection(fr._Connection):
        seq = 0
        key: str | None = None
        last_audio_out = -math.inf
        listening: OnsetDetector | None = None  # finds where the candidate starts speaking

        def onset_key(self) -> str:
            if self.key is None:
                self.key = employee_key(str(self.session.get("instructions") or ""))
            return self.key or f"#{self.conv.index}"

        async def send(self, event: dict[str, Any]) -> None:
            if event.get("type") != "response.output_audio.delta":
                await super().send(event)
                return
            if onsets:  # the tone as the fake speaks it, unvalidated like the marked audio below
                event.setdefault("event_id", fr.new_id("event"))
                text, t = json.dumps(event), time.monotonic()
                if t - self.last_audio_out >= 0.3:  # a reply starts after silence the client can hear
                    u2c_onsets.append((self.onset_key(), t))
                self.last_audio_out = t
                try:  # noqa: SIM105
                    await self.ws.send(text)
                except Exception:  # the client went away mid-response
                    pass
                return
            samples = len(base64.b64decode(event["delta"])) // 2
            pcm = audioop.ulaw2lin(mark(self.conv.index, self.seq) + b"\xff" * (samples - MARK_LEN), 2)
            event["delta"] = base64.b64encode(pcm).decode()
            event.setdefault("event_id", fr.new_id("event"))
            text = json.dumps(event)
            u2c.append((self.conv.index, self.seq, time.monotonic()))
            self.seq = (self.seq + 1) & 0xFFFFFF
            try:  # noqa: SIM105
                await self.ws.send(text)
            except Exception:  # the client went away mid-response
                pass

        async def on_message(self, message: str | bytes) -> None:
            t = time.monotonic()
            event = json.loads(message) if '"input_audio_buffer.append"' in message else {}
            if event.get("type") == "input_audio_buffer.append":
                audio = base64.b64decode(event["audio"])
                if onsets:
                    self.listening = self.listening or OnsetDetector(quiet_s=0.3)
                    if self.listening.feed(t, rms(np.frombuffer(audio, dtype="<i2"))):
                        c2u_onsets.append((self.onset_key(), t))
                for ident, seq in [] if onsets else find_marks(audioop.lin2ulaw(audio, 2)):
                    c2u.append((ident, seq, t))
                self.conv.audio_bytes += len(audio)
                await self.on_audio(audio)
                return
            await super().on_message(message)

    class Server(fr.FakeRealtimeServer):
        async def _handle(self, ws: Any) -> None:
            from urllib.parse import parse_qsl, urlsplit

            parts = urlsplit(ws.request.path)
            conv = fr.Conversation(
                index=len(self.conversations), path=parts.path, query=dict(parse_qsl(parts.query)),
                headers={k.lower(): v for k, v in ws.request.headers.raw_items()},
            )  # fmt: skip
            self.conversations.append(conv)
            conv.events = _Discard()  # a long soak must not keep every event in memory
            await Connection(self, ws, conv, self.scripts[0]).serve()

        def _process_request(self, connection: Any, request: Any) -> Any:
            if request.path.startswith("/bench/dump?"):
                target = request.path.split("?", 1)[1]
                Path(target).write_text(
                    json.dumps(
                        {
                            "c2u": c2u,
                            "u2c": u2c,
                            "c2u_onsets": c2u_onsets,
                            "u2c_onsets": u2c_onsets,
                            "problems": self.problems[:50],
                            "connections": len(self.conversations),
                            "audio_bytes": sum(c.audio_bytes for c in self.conversations),
                        }
                    )  # fmt: skip
                )
                for records in (c2u, u2c, c2u_onsets, u2c_onsets):
                    records.clear()
                return connection.respond(HTTPStatus.OK, "dumped\n")
            return super()._process_request(connection, request)

    script = fr.Script(policy=model, hearing=lambda conv: "I would join the tables and group by customer.")
    server = Server(script, pace=1.0, chunk_ms=20).start()
    print(f"BENCH_PORT {server.port}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


class _Discard(list):  # type: ignore[type-arg]
    """A list that keeps nothing."""

    def append(self, item: Any) -> None:
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="role", required=True)
    app = sub.add_parser("app")
    app.add_argument("--upstream", required=True)
    app.add_argument("--database-url", required=True)
    app.add_argument("--max-connections", type=int, default=400)
    app.add_argument("--host", default="127.0.0.1", help="address to listen on")
    app.add_argument(
        "--max-questions", type=int, default=50, help="questions per interview (ATHENA_MAX_QUESTIONS)"
    )
    app.add_argument("--profile", choices=PROFILES, default="athena", help="what serves /interview")
    up = sub.add_parser("upstream")
    up.add_argument("--say-ms", type=int, default=3000)
    up.add_argument("--onsets", action="store_true", help="record onsets instead of frame markers (WebRTC)")
    args = parser.parse_args()
    import signal

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    serve_app(args) if args.role == "app" else serve_upstream(args)


if __name__ == "__main__":
    main()
