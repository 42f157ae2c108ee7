"""The Realtime interviewer in the app: its part of the Interview tab, and its routes under /interview.

In the tab, the candidate starts the interview by employee ID and presses Record; the WebRTC audio runs through
`RealtimeInterviewHandler`. Typed answers and SQL editor submissions reach the model as the candidate's words
through the handler's inputs (the "link" state), and the page shows a live transcript and the connection's status.
When the service refuses the key or cannot be reached, the page says so and offers the keyless interviewer, which
resumes the same interview (nothing recorded is lost).

Without a browser, `mount_interview_api` serves the same interview over fastrtc's WebSocket transport:
`/interview/websocket/offer` for audio, `POST /interview/start` to start or resume by employee ID, and
`GET /interview/report` for the result.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, replace
from typing import Any

import gradio as gr
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from interview.errors import InterviewError, InvalidInput
from interview.ice import ice_configuration
from interview.keyless import KeylessInterviewer
from interview.realtime_audio import RealtimeInterviewHandler
from interview.realtime_session import RealtimeConfig
from interview.services import InterviewServices

log = logging.getLogger(__name__)

VOICE_HELP = (
    "Press **Record** and allow the microphone. The interviewer greets you, asks each question out "
    "loud and listens; take your time. For a question that asks for a query, write it in the SQL editor "
    "and press **Submit query**. You can also type an answer below."
)


def realtime_config(services: InterviewServices) -> RealtimeConfig:
    """The Realtime settings, with call latencies reported to whoever observes them (metrics)."""
    return replace(
        RealtimeConfig.from_settings(services.settings), latency_observer=services.observe_openai_latency
    )


def start_realtime_session(
    services: InterviewServices,
    employee_id: str,
    name: str | None = None,
    department: str | None = None,
    role: str | None = None,
) -> tuple[int, str, bool]:
    """Start an interview for the Realtime interviewer, or resume the employee's interrupted one.

    Returns (session id, session reference, resumed).
    """
    engine = services.engine
    previous = engine.resumable_session((employee_id or "").strip())
    if previous is not None:
        state = engine.resume_session(previous, brain="realtime", mode="voice")
        return state.session_id, engine.session_ref(state.session_id), True
    state = engine.start_session(
        employee_id,
        name=name or None,
        department=department or None,
        role=role or None,
        brain="realtime",
        mode="voice",
    )
    return state.session_id, engine.session_ref(state.session_id), False


def _link(ref: str, dialect: str, message: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"ref": ref or "", "dialect": dialect or "duckdb", "message": message}


@dataclass
class RealtimeControls:
    """The tab's event handlers in Realtime mode; `bind` wires them to the tab's buttons."""

    services: InterviewServices
    tab: Any  # interview.ui.InterviewTab
    link: gr.State
    voice: gr.State  # the connection's status as the handler last reported it

    # ---- handlers
    def start(
        self, employee_id: str, name: str, department: str, role: str, dialect: str, ref: str, voice: str
    ) -> tuple[Any, ...]:
        if voice == "keyless":  # the candidate switched to the keyless interviewer
            return (*self.tab.start(employee_id, name, department, role, dialect, ref), _link("", dialect))
        if voice == "live":
            raise gr.Error("An interview is running on this page: end it first.")
        try:
            _, new_ref, _ = start_realtime_session(self.services, employee_id, name, department, role)
            view = (new_ref, *self.tab.refresh(new_ref))
        except InterviewError as exc:
            raise gr.Error(str(exc)) from None
        gr.Info("Now press Record and allow the microphone: the interviewer will greet you.")
        return (*view, _link(new_ref, dialect))

    def _send(self, ref: str, dialect: str, voice: str, text: str = "", sql: str = "") -> dict[str, Any]:
        if not ref:
            raise gr.Error("No interview is running here: enter your employee ID and start one.")
        if voice != "live":
            raise gr.Error("The voice interviewer is not connected: press Record first, then answer.")
        if not (text or "").strip() and not (sql or "").strip():
            raise gr.Error("The answer is empty.")
        return _link(ref, dialect, {"id": uuid.uuid4().hex, "text": text, "sql": sql})

    def answer(self, text: str, ref: str, dialect: str, voice: str) -> tuple[Any, ...]:
        if voice == "keyless":
            return (*self.tab.answer(text, ref, dialect), gr.skip())
        link = self._send(ref, dialect, voice, text=text)
        return ("", ref, *self.tab.refresh(ref), link)

    def submit_sql(self, sql: str, ref: str, dialect: str, voice: str) -> tuple[Any, ...]:
        if voice == "keyless":
            return (*self.tab.submit_sql(sql, ref, dialect), gr.skip())
        link = self._send(ref, dialect, voice, sql=sql)
        gr.Info("Query sent to the interviewer.")
        return (ref, *self.tab.refresh(ref), link)

    def end(self, ref: str, dialect: str) -> tuple[Any, ...]:
        view = self.tab.end(ref)
        return (*view, _link(ref, dialect, {"id": uuid.uuid4().hex, "stop": True}))

    def keyless(self, ref: str, dialect: str) -> tuple[Any, ...]:
        """Carry on with the keyless interviewer: it resumes the same interview where it stopped."""
        try:
            sid = self.services.engine.resolve_ref(ref)
            state = self.services.engine.state(sid)
            if state.status == "in_progress":
                self.services.engine.abandon(sid, "switched to keyless")
            interviewer = KeylessInterviewer(
                self.services.engine,
                mode="text",
                dialect=dialect or "duckdb",
                grading_timeout_s=self.services.settings.grading_timeout_s,
            )
            interviewer.start(state.employee_id)
            view = (interviewer.ref, *self.tab.refresh(interviewer.ref))
        except InterviewError as exc:
            raise gr.Error(str(exc)) from None
        return (
            *view,
            "keyless",
            gr.update(visible=False),
            "You are now with Athena's own interviewer: answer in the text box and the SQL editor.",
        )

    # ---- wiring
    def bind(
        self,
        *,
        start: gr.Button,
        send: gr.Button,
        answer: gr.Textbox,
        submit: gr.Button,
        end: gr.Button,
        employee_id: gr.Textbox,
        name: gr.Textbox,
        department: gr.Textbox,
        role: gr.Textbox,
        dialect: gr.Dropdown,
        sql: gr.Code,
        views: list[Any],
    ) -> None:
        ref = views[0]
        start.click(
            self.start,
            [employee_id, name, department, role, dialect, ref, self.voice],
            [*views, self.link],
            api_name=False,
        )
        for trigger in (send.click, answer.submit):
            trigger(
                self.answer, [answer, ref, dialect, self.voice], [answer, *views, self.link], api_name=False
            )
        submit.click(self.submit_sql, [sql, ref, dialect, self.voice], [*views, self.link], api_name=False)
        end.click(self.end, [ref, dialect], [*views, self.link], api_name=False)


def build_realtime_component(
    services: InterviewServices, tab: Any, ref: gr.State, dialect: gr.Dropdown, outputs: list[Any]
) -> RealtimeControls:
    """The voice component of the Interview tab when an OpenAI key is set (inside the tab's layout)."""
    from fastrtc import WebRTC

    settings = services.settings
    handler = RealtimeInterviewHandler(services.engine, realtime_config(services))
    link = gr.State(_link("", "duckdb"))
    voice = gr.State("")
    browser_ice, server_ice = ice_configuration(settings)
    with gr.Accordion("Talk to the interviewer", open=True):
        gr.Markdown(VOICE_HELP)
        audio = WebRTC(
            label="Voice interview",
            modality="audio",
            mode="send-receive",
            full_screen=False,
            rtc_configuration=browser_ice,
            server_rtc_configuration=server_ice,
            elem_id="realtime-voice",
        )
        note = gr.Markdown("", elem_id="realtime-status")
        fallback = gr.Button(
            "Continue with Athena's own interviewer", visible=False, elem_id="realtime-fallback"
        )
        live = gr.Chatbot(
            type="messages", label="Live conversation", height=260, elem_id="realtime-transcript"
        )
    audio.stream(
        fn=handler,
        inputs=[audio, link],
        outputs=[audio],
        time_limit=(settings.max_minutes + 10) * 60,
        concurrency_limit=settings.realtime_max_connections,
    )
    dialect.change(
        lambda r, d, cur: _link(r, d, (cur or {}).get("message")),
        [ref, dialect, link],
        link,
        api_name=False,
        queue=False,
    )
    controls = RealtimeControls(services=services, tab=tab, link=link, voice=voice)

    def on_outputs(session_ref: str, lines: list[dict[str, str]], kind: str, message: str) -> tuple[Any, ...]:
        chat, status, report = tab.refresh(session_ref)
        icon = {
            "live": "🟢",
            "unavailable": "⚠️",
            "reconnecting": "🟠",
            "waiting": "⏳",
            "finished": "✅",
        }.get(kind, "")
        return (
            chat,
            status,
            report,
            lines,
            kind,
            gr.update(visible=kind == "unavailable"),
            f"{icon} {message}".strip(),
        )

    # Queued, so one long-lived stream per connection delivers every update in order (not one per request).
    audio.on_additional_outputs(
        on_outputs,
        outputs=[*outputs, live, voice, fallback, note],
        concurrency_limit=None,
        show_progress="hidden",
    )
    fallback.click(controls.keyless, [ref, dialect], [ref, *outputs, voice, fallback, note], api_name=False)

    def stopped(kind: str) -> tuple[Any, Any]:
        """The candidate stopped the voice connection: answers cannot reach the interviewer until Record again."""
        if kind != "live":
            return kind, gr.skip()
        return "", "Voice disconnected: press Record to carry on where you stopped."

    audio.stop_recording(stopped, [voice], [voice, note], api_name=False, queue=False)
    return controls


# ---------------------------------------------------------------------------------------------------- /interview
def mount_interview_api(app: FastAPI, services: InterviewServices, path: str = "/interview") -> Any:
    """Serve the Realtime interview over fastrtc's WebSocket transport (and WebRTC offers) under `path`."""
    from interview.realtime_transport import InterviewStream

    settings = services.settings
    handler = RealtimeInterviewHandler(services.engine, realtime_config(services))
    _, server_ice = ice_configuration(settings)
    stream = InterviewStream(
        handler,
        modality="audio",
        mode="send-receive",
        rtc_configuration=server_ice,
        server_rtc_configuration=server_ice,
        concurrency_limit=settings.realtime_max_connections,
        time_limit=(settings.max_minutes + 10) * 60,
        verbose=False,
    )

    @app.post(f"{path}/start")
    async def start(request: Request) -> JSONResponse:
        """Start (or resume) an interview for an employee on an open WebSocket connection."""
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"error": "The request body must be JSON."}, status_code=400)
        if not isinstance(body, dict):
            return JSONResponse({"error": "The request body must be a JSON object."}, status_code=400)
        websocket_id = str(body.get("websocket_id") or "")
        if websocket_id not in stream.connections:
            return JSONResponse(
                {
                    "error": "No audio connection with that websocket_id: open "
                    f"{path}/websocket/offer and send the start event first."
                },
                status_code=409,
            )
        try:
            dialect = str(body.get("dialect") or "duckdb")
            if len(dialect) > 20:
                raise InvalidInput("Unknown SQL dialect.")
            sid, ref, resumed = await _in_thread(
                start_realtime_session,
                services,
                str(body.get("employee_id") or ""),
                body.get("name"),
                body.get("department"),
                body.get("role"),
            )
        except InterviewError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        stream.set_input(websocket_id, _link(ref, dialect))
        log.info("websocket interview started", extra={"session_id": sid, "resumed": resumed})
        return JSONResponse({"session_id": sid, "ref": ref, "resumed": resumed})

    @app.get(f"{path}/report")
    def report(ref: str = "") -> JSONResponse:
        """Where an interview stands, and its report once written (ref: the reference /start returned)."""
        engine = services.engine
        try:
            sid = engine.resolve_ref(ref)
            state = engine.state(sid)
        except InterviewError as exc:
            return JSONResponse({"error": str(exc)}, status_code=404)
        done = engine.get_report(sid)
        return JSONResponse(
            {
                "session_id": sid,
                "status": state.status,
                "answered": len(state.answered),
                "of": state.max_questions,
                "overall_score": done.overall_score if done else None,
                "report_markdown": done.to_markdown() if done else None,
            }
        )

    stream.mount(app, path=path)
    return stream


async def _in_thread(fn: Any, *args: Any) -> Any:
    import asyncio

    return await asyncio.to_thread(fn, *args)
