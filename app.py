"""Athena's composition root: Settings -> Store -> services -> Gradio Blocks + FastAPI routes.

Run it with `python app.py`.
"""

from __future__ import annotations

import time

_PROCESS_START = time.monotonic()

import gc
import logging
import os
import sys
from dataclasses import dataclass
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr
from fastapi import FastAPI

from analytics.accounts import AccountError, ensure_admin
from analytics.auth import StartupRefused, check_bind
from analytics.console import close_console
from analytics.console_ui import build_console_tab, lead_tabs_visibility
from analytics.dashboard import build_dashboard
from analytics.routes import install_routes
from analytics.snapshot import close_snapshot, snapshot_for
from interview.services import InterviewServices, build_interview_services
from interview.ui import build_interview_tab
from interview.voice_session import VoiceService
from ops.http import install_ops
from ops.logging import setup_logging
from ops.websocket import AudioWebSocketProtocol
from settings import Settings, SettingsError, load_settings
from store import Store, StoreError

log = logging.getLogger("athena")

# How uvicorn serves the app (the tests and benchmarks serve it the same way). The interview's WebSocket carries
# base64 audio 50 times a second per candidate: no permessage-deflate (compressing it cost more CPU per frame
# than everything else Athena does with it), and no pause and resume of reading per message (ops/websocket.py).
# BENCHMARKS.md, Capacity, has the figures.
SERVER_OPTIONS: dict[str, Any] = {
    "ws": AudioWebSocketProtocol,
    "ws_per_message_deflate": False,
    "timeout_graceful_shutdown": 30,
}


def settle_heap() -> None:
    """Move everything start-up built (Gradio, the question bank, the SDK's models: hundreds of thousands of
    objects) out of the garbage collector's reach. Otherwise each full collection walks all of it while serving:
    a 240 ms pause for every live interview at once, measured under load (BENCHMARKS.md, Capacity)."""
    gc.collect()
    gc.freeze()


TITLE = "Athena: SQL skills interviews"


@dataclass
class AthenaApp:
    settings: Settings
    store: Store
    api: FastAPI
    blocks: gr.Blocks
    interviews: InterviewServices
    voice: VoiceService | None

    def close(self) -> None:
        close_console(self.store)
        close_snapshot(self.store)
        self.store.close()


def build_blocks(
    settings: Settings, store: Store, interviews: InterviewServices, voice: VoiceService | None
) -> gr.Blocks:
    with gr.Blocks(title=TITLE, analytics_enabled=False) as blocks:
        gr.Markdown(f"# {TITLE}")
        with gr.Tabs():
            with gr.Tab("Interview", id="interview"):
                interview_tab = build_interview_tab(interviews, voice)
            with gr.Tab("Analytics", id="analytics", visible=False) as analytics_tab:
                build_dashboard(store)  # loads its own data on each page load, for leads only
            with gr.Tab("SQL Console", id="console", visible=False) as console_tab:
                build_console_tab(store, settings)
        lead_tabs_visibility(store, settings, [analytics_tab, console_tab])  # shown to leads/admins only
        blocks.unload(interview_tab.page_closed)  # a page that goes away leaves its interview resumable
    return blocks


def build_app(settings: Settings, store: Store | None = None) -> AthenaApp:
    """Construct everything; nothing connects or loads before this is called."""
    store = store or Store.open(settings.database_url, pool_size=settings.db_pool_size)
    ensure_admin(store, settings.admin_password)
    interviews = build_interview_services(settings, store)
    voice = VoiceService(settings) if settings.local_voice and not settings.realtime_enabled else None
    api = FastAPI(title="Athena", docs_url=None, redoc_url=None, openapi_url=None)
    blocks = build_blocks(settings, store, interviews, voice)
    if (
        settings.realtime_enabled
    ):  # the Realtime interview without a browser: WebSocket clients, under /interview
        from interview.realtime_ui import mount_interview_api

        mount_interview_api(api, interviews)
    install_routes(api, settings, store)  # /login, /logout, /api/query: before Gradio's catch-all mount
    install_ops(api, settings, store, interviews)  # /health, /ready, /metrics, headers, limits, backups
    api = gr.mount_gradio_app(api, blocks, path="", show_error=False, show_api=False)
    return AthenaApp(
        settings=settings, store=store, api=api, blocks=blocks, interviews=interviews, voice=voice
    )


def main(argv: list[str] | None = None) -> int:
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"athena: {exc}", file=sys.stderr)
        return 2
    setup_logging(settings.log_level, settings.log_format)
    try:
        app = build_app(settings)
    except (StoreError, AccountError) as exc:
        print(f"athena: {exc}", file=sys.stderr)
        return 2
    try:
        check_bind(settings.host, app.store)
    except StartupRefused as exc:
        print(f"athena: {exc}", file=sys.stderr)
        app.close()
        return 2
    import uvicorn

    app.interviews.engine.close_stale_sessions()
    if app.voice is not None:
        app.voice.warmup_in_background()
    snapshot_for(app.store).warm_in_background()  # the Analytics tab's data, read once in the background

    log.info(
        "athena ready",
        extra={
            "url": f"http://{settings.host}:{settings.port}",
            "database": app.store.where,
            "interviewer": "realtime" if settings.realtime_enabled else "keyless",
            "startup_s": round(time.monotonic() - _PROCESS_START, 2),
        },
    )
    settle_heap()
    try:
        uvicorn.run(app.api, host=settings.host, port=settings.port, log_config=None, **SERVER_OPTIONS)
    except OSError as exc:  # e.g. port in use
        print(f"athena: cannot listen on {settings.host}:{settings.port}: {exc.strerror}", file=sys.stderr)
        return 2
    finally:
        app.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
