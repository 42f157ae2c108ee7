"""Realtime interviews over WebSocket: N candidates against one app process; the delay Athena adds per frame.

For each N: a fresh app process (SQLite in a temp directory) and a fake Realtime service process; N clients in this
process stream 24 kHz mu-law audio in real time (20 ms frames unless `--frame-ms`; 1.2 s of speech every 10 s) on
/interview, and the fake answers each utterance with tool calls (log_response_evaluation, next_question, log_question_asked) and 20 ms
audio chunks in real time. Every frame is marked and timestamped at both ends (see bench/realtime_harness.py).

Figures per N: added latency per frame each way (p50, p99, max), frames over 20 ms, late (> 100 ms) and dropped,
the app process's CPU (% of one core) and resident memory (total, and the growth over the idle app per session),
and the CPU of the fake and of the clients (they share the machine). The knee is the first N whose p99 passes 20 ms
in either direction.

    python bench/bench_realtime_load.py            # N = 1, 10, 50, 100, 200; 30 s measured per N
    python bench/bench_realtime_load.py --quick    # N = 1, 10, 50; 15 s each (about 2 minutes)
    python bench/bench_realtime_load.py --n 1 100 --seconds 60

Writes bench/results/realtime_load.json and the plot bench/results/latency_vs_n.html.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from realtime_harness import (  # noqa: E402
    PROFILES,
    Crowd,
    Processes,
    can_pin,
    latencies,
    level_figures,
    machine,
    measure_window,
    pin_self,
    save_plot,
    summary,
)

RESULTS = Path(__file__).resolve().parent / "results"
TARGET_MS = 20.0
log = logging.getLogger(__name__)


async def measure(
    n: int, seconds: float, settle_s: float, profile: str = "athena", pin: bool = False, frame_ms: int = 20
) -> dict[str, Any]:
    """One load level on fresh processes (`profile`: athena, or a baseline: stock or relay)."""
    with tempfile.TemporaryDirectory(prefix="athena-load-") as tmp:
        procs = Processes(Path(tmp))
        try:
            await procs.start(max_connections=max(20, n + 20), profile=profile, pin=pin)
            crowd = Crowd(procs.base_url, frame_ms=frame_ms)
            window = await measure_window(
                procs, crowd, n, seconds, settle_s, live_wait_per_n=0.2, in_flight_s=1.5
            )
        finally:
            await procs.close()
    heard_up = {(c, s): t for c, s, t in window.upstream["c2u"]}
    heard_client = {(c, s): t for c, s, t in crowd.received}
    c2u = summary(*latencies(crowd.sent, heard_up, window.t0, window.t1))
    u2c = summary(*latencies([tuple(x) for x in window.upstream["u2c"]], heard_client, window.t0, window.t1))
    frames = sum(d.get("frames", 0) + d.get("dropped", 0) for d in (c2u, u2c))
    app_cpu_s = window.after["app"][0] - window.before["app"][0]
    return {
        "n": n,
        "profile": profile,
        "client_frame_ms": frame_ms,
        "live": window.live,
        "seconds": round(window.t1 - window.t0, 1),
        "client_to_upstream": c2u,
        "upstream_to_client": u2c,
        "app_cpu_us_per_frame": round(1e6 * app_cpu_s / max(1, frames), 1),
        **level_figures(window, crowd, n),
    }


def knee(levels: list[dict[str, Any]]) -> int | None:
    for level in levels:
        worst = max(level[d].get("p99_ms", 1e9) for d in ("client_to_upstream", "upstream_to_client"))
        if worst > TARGET_MS:
            return int(level["n"])
    return None


def plot(levels: list[dict[str, Any]], path: Path, title: str) -> None:
    """Latency each way against N (log scale, p99 solid, p50 dotted) above the app's CPU, for each server."""
    from plotly.subplots import make_subplots

    fig = make_subplots(
        rows=2, cols=1, shared_xaxes=True, row_heights=[0.68, 0.32], vertical_spacing=0.06,
        subplot_titles=("added latency per frame (ms, log scale)", "app CPU (% of its one core)"),
    )  # fmt: skip
    colors = {
        "athena": ("#d62728", "#1f77b4"),
        "stock": ("#ff9896", "#aec7e8"),
        "relay": ("#98df8a", "#c5b0d5"),
    }
    names = {"athena": "Athena", "stock": "stock", "relay": "pass-through"}
    for profile in PROFILES:
        runs = [lv for lv in levels if lv.get("profile", "athena") == profile]
        if not runs:
            continue
        ns = [lv["n"] for lv in runs]
        for (direction, label), color in zip(
            (("client_to_upstream", "candidate → model"), ("upstream_to_client", "model → candidate")),
            colors[profile],
            strict=True,
        ):
            for stat, dash in (("p99_ms", "solid"), ("p50_ms", "dot")):
                fig.add_scatter(
                    x=ns, y=[lv[direction].get(stat) for lv in runs], mode="lines+markers",
                    name=f"{names[profile]}: {label} {stat[:3]}", line={"dash": dash, "color": color},
                    row=1, col=1,
                )  # fmt: skip
        fig.add_scatter(
            x=ns, y=[lv["cpu_pct_of_one_core"]["app"] for lv in runs], mode="lines+markers",
            name=f"{names[profile]}: app CPU", line={"color": colors[profile][0]}, row=2, col=1,
        )  # fmt: skip
    fig.add_hline(y=TARGET_MS, line_dash="dash", annotation_text="20 ms", row=1, col=1)
    fig.update_yaxes(type="log", range=[-0.7, 4.5], row=1, col=1)
    fig.update_yaxes(range=[0, 105], row=2, col=1)
    fig.update_xaxes(title_text="concurrent interviews (N)", row=2, col=1)
    fig.update_layout(title=title, legend={"font": {"size": 10}})
    save_plot(fig, path)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    levels = []
    pin = args.pin and can_pin()
    if pin:
        pin_self()
    for n in args.n:
        for profile in args.profiles:
            level = await measure(
                n, args.seconds, args.settle, profile=profile, pin=pin, frame_ms=args.frame_ms
            )
            levels.append(level)
            Path(args.out).with_suffix(".partial.json").write_text(
                json.dumps(levels, indent=1)
            )  # if a level fails
            c, u = level["client_to_upstream"], level["upstream_to_client"]
            print(
                f"{profile:7s} N={n:4d} live={level['live']:4d}  c→u p50 {c.get('p50_ms')} p99 {c.get('p99_ms')} "
                f"ms drop {c.get('dropped')}  u→c p50 {u.get('p50_ms')} p99 {u.get('p99_ms')} ms drop "
                f"{u.get('dropped')}  app CPU {level['cpu_pct_of_one_core']['app']}% "
                f"({level['app_cpu_us_per_frame']} µs/frame)  RSS {level['app_rss_mb']} MB "
                f"({level['rss_mb_per_session']} MB/session)  errors {level['error_count']}",
                flush=True,
            )
    by = {p: [lv for lv in levels if lv["profile"] == p] for p in PROFILES}
    return {
        "machine": machine(),
        "pinned": pin,
        "seconds_per_level": args.seconds,
        "client_frame_ms": args.frame_ms,
        "levels": levels,
        "knee_n": knee(by["athena"]),
        "baseline_knee_n": {p: knee(by[p]) for p in PROFILES[1:] if by[p]},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, nargs="+", default=[1, 10, 50, 100, 200], help="load levels")
    parser.add_argument("--seconds", type=float, default=30.0, help="measured seconds per level")
    parser.add_argument(
        "--settle", type=float, default=5.0, help="seconds after all are live, before measuring"
    )
    parser.add_argument("--quick", action="store_true", help="N = 1, 10, 50 for 15 s each")
    parser.add_argument(
        "--frame-ms", type=int, default=20, choices=(20, 40, 60, 100),
        help="audio per client message (the issue's load is 20 ms; larger frames show what a client can change)",
    )  # fmt: skip
    parser.add_argument(
        "--baseline", action="store_true",
        help="also measure each N on the baselines: stock (the SDK's and uvicorn's defaults) and relay (the floor)",
    )  # fmt: skip
    parser.add_argument(
        "--no-pin", dest="pin", action="store_false",
        help="don't give the app core 0 to itself (by default the fake service and the clients share core 1)",
    )  # fmt: skip
    parser.add_argument("--out", default=str(RESULTS / "realtime_load.json"))
    parser.add_argument("--plot", default=str(RESULTS / "latency_vs_n.html"))
    args = parser.parse_args()
    args.profiles = PROFILES if args.baseline else ("athena",)
    if args.quick:
        args.n, args.seconds = [1, 10, 50], 15.0
    logging.basicConfig(level=logging.WARNING)
    result = asyncio.run(run(args))
    RESULTS.mkdir(exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    plot(result["levels"], Path(args.plot), "Athena Realtime over WebSocket: added latency per 20 ms frame")
    print(f"knee (first N with p99 > {TARGET_MS:g} ms): {result['knee_n']}; wrote {args.out} and {args.plot}")


if __name__ == "__main__":
    main()
