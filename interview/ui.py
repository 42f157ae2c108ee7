"""The Interview tab (candidates): start by employee ID, answer by voice or text, SQL editor, live transcript, report.

The database holds the interview's whole state; the page keeps only an unguessable session reference, so the
text box, the SQL editor and the voice connection all act on the same interview, and a reload or a dropped
connection loses nothing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import Any

import gradio as gr

from interview import grading
from interview.engine import InterviewEngine
from interview.errors import InterviewError, SessionNotFound
from interview.keyless import KeylessInterviewer, spoken_question
from interview.report import label
from interview.services import InterviewServices
from interview.voice_session import VoiceService

log = logging.getLogger(__name__)

DIALECT_CHOICES = [
    ("DuckDB / standard SQL", "duckdb"),
    ("PostgreSQL", "postgres"),
    ("MySQL", "mysql"),
    ("SQLite", "sqlite"),
    ("SQL Server (T-SQL)", "tsql"),
    ("Oracle", "oracle"),
    ("Snowflake", "snowflake"),
    ("BigQuery", "bigquery"),
]


def transcript(engine: InterviewEngine, session_id: int) -> list[dict[str, str]]:
    """The conversation so far, rebuilt from the stored records (questions, answers, scores and feedback)."""
    state = engine.state(session_id)
    with engine.store.read() as conn:
        from store import repo

        responses = {r["question_id"]: r for r in repo.list_responses(conn, session_id)}
    scratch = engine.scratch(session_id)
    messages: list[dict[str, str]] = []
    for q in state.asked:
        bank_q = engine.bank.get(q.ref) if q.ref else None
        shown = spoken_question(bank_q) if bank_q else q.text
        messages.append(
            {
                "role": "assistant",
                "content": f"**Question {q.position}** ({label(q.category)}, {q.difficulty}): {shown}",
            }
        )
        r = responses.get(q.id)
        if r is not None:
            answer = r["response_text"] or ""
            if r["sql_text"] and r["sql_text"].strip() != answer.strip():
                answer = (answer + "\n\n" if answer else "") + f"```sql\n{r['sql_text']}\n```"
            elif r["sql_text"]:
                answer = f"```sql\n{r['sql_text']}\n```"
            messages.append({"role": "user", "content": answer or "(no answer)"})
            messages.append(
                {"role": "assistant", "content": f"Score {r['score']:.2f}. {r['feedback'] or ''}"}
            )
        elif scratch.get("follow_up_for") == q.id and bank_q and bank_q.follow_ups:
            messages.append({"role": "user", "content": scratch.get("first_answer") or ""})
            messages.append({"role": "assistant", "content": f"*Follow-up:* {bank_q.follow_ups[0]}"})
    return messages


def status_line(engine: InterviewEngine, session_id: int) -> str:
    state = engine.state(session_id)
    if state.status == "completed":
        return f"Interview {session_id} is complete. The report is below."
    if state.status != "in_progress":
        return (
            f"Interview {session_id} was interrupted ({len(state.answered)} answers kept). Press "
            "**Start or resume** with your employee ID to continue where it stopped."
        )
    pending = state.pending
    kind = ""
    if pending and pending.ref:
        bank_q = engine.bank.get(pending.ref)
        kind = " — write a query in the SQL editor" if bank_q and bank_q.kind == "hands_on" else " — explain"
    return (
        f"Interview {session_id} with {state.employee_name}: question {len(state.asked)} of "
        f"{state.max_questions}{kind}."
    )


def report_markdown(engine: InterviewEngine, session_id: int) -> str:
    report = engine.get_report(session_id)
    return report.to_markdown() if report else ""


class InterviewTab:
    """Handlers of the Interview tab; each one resolves the session from its reference."""

    def __init__(self, services: InterviewServices, voice: VoiceService | None):
        self.services = services
        self.engine = services.engine
        self.voice = voice
        # The one thing kept per page on the server: which interview a page started, so that when Gradio
        # reports the page gone (its unload event carries no inputs) that interview is closed as resumable.
        self._pages: dict[str, str] = {}
        self._pages_lock = threading.Lock()

    def _interviewer(self, ref: str, dialect: str = "duckdb", mode: str = "text") -> KeylessInterviewer:
        return KeylessInterviewer.attach(
            self.engine,
            ref,
            mode=mode,
            dialect=dialect or "duckdb",
            grading_timeout_s=self.services.settings.grading_timeout_s,
        )

    def _view(self, ref: str) -> tuple[str, list[dict[str, str]], str, str]:
        sid = self.engine.resolve_ref(ref)
        return (
            ref,
            transcript(self.engine, sid),
            status_line(self.engine, sid),
            report_markdown(self.engine, sid),
        )

    def start(
        self,
        employee_id: str,
        name: str,
        department: str,
        role: str,
        dialect: str,
        ref: str,
        request: gr.Request,
    ) -> tuple[str, list[dict[str, str]], str, str]:
        try:
            if ref:
                try:
                    current = self._interviewer(ref, dialect)
                    if current.active:
                        raise user_error("An interview is already running on this page; end it first.")
                except SessionNotFound:
                    pass
            interviewer = KeylessInterviewer(
                self.engine,
                mode="text",
                dialect=dialect or "duckdb",
                grading_timeout_s=self.services.settings.grading_timeout_s,
            )
            interviewer.start(
                employee_id, name=name or None, department=department or None, role=role or None
            )
            if request is not None and request.session_hash:
                with self._pages_lock:
                    self._pages[request.session_hash] = interviewer.ref
            return self._view(interviewer.ref)
        except InterviewError as exc:
            raise user_error(exc) from None

    def answer(self, text: str, ref: str, dialect: str) -> tuple[str, str, list[dict[str, str]], str, str]:
        try:
            self._interviewer(ref, dialect).answer(text)
            return ("", *self._view(ref))
        except InterviewError as exc:
            raise user_error(exc) from None

    def submit_sql(self, sql: str, ref: str, dialect: str) -> tuple[str, list[dict[str, str]], str, str]:
        try:
            interviewer = self._interviewer(ref, dialect)
            if interviewer.question is not None and interviewer.question.kind != "hands_on":
                raise user_error("The current question asks for an explanation: answer it in the text box.")
            interviewer.answer("", sql=sql)
            return self._view(ref)
        except InterviewError as exc:
            raise user_error(exc) from None

    def run_sql(self, sql: str, ref: str, dialect: str) -> tuple[Any, str]:
        """Try a draft query on the visible practice data; nothing is scored."""
        try:
            if ref:
                interviewer = self._interviewer(ref, dialect)
            else:
                interviewer = KeylessInterviewer(self.engine, dialect=dialect or "duckdb")
            result = interviewer.try_query(sql)
        except InterviewError as exc:
            raise user_error(exc) from None
        note = f"{len(result.rows)} row(s) in {result.elapsed_ms:.0f} ms" + (
            " (showing the first 200)" if result.truncated else ""
        )
        return gr.update(
            value={"headers": list(result.columns), "data": [list(map(_cell, r)) for r in result.rows]},
            visible=True,
        ), note

    def end(self, ref: str) -> tuple[str, list[dict[str, str]], str, str]:
        try:
            self._interviewer(ref).end()
            return self._view(ref)
        except InterviewError as exc:
            raise user_error(exc) from None

    def refresh(self, ref: str) -> tuple[list[dict[str, str]], str, str]:
        if not ref:
            return [], "No interview running. Enter your employee ID to start.", ""
        try:
            _, chat, status, report = self._view(ref)
            return chat, status, report
        except InterviewError as exc:
            return [], str(exc), ""

    def page_closed(self, request: gr.Request) -> None:
        """The page went away (tab closed, browser gone): close its running interview as resumable."""
        with self._pages_lock:
            ref = self._pages.pop(request.session_hash or "", "") if request is not None else ""
        if not ref:
            return
        try:
            interviewer = self._interviewer(ref)
            if interviewer.active:
                interviewer.disconnect()
        except InterviewError:
            pass

    # ---- voice
    # fastrtc calls these with the latest inputs: the WebRTC component's value (its connection id), then ours.
    def voice_reply(self, audio: tuple[int, Any], _webrtc_id: str, ref: str, dialect: str) -> Iterator[Any]:
        assert self.voice is not None
        yield from self.voice.reply(audio, ref, dialect, self._interviewer)

    def voice_startup(self, _webrtc_id: str, ref: str, dialect: str) -> Iterator[Any]:
        assert self.voice is not None
        yield from self.voice.greet(ref, dialect, self._interviewer)


def user_error(message: object) -> gr.Error:
    """A message for the candidate, shown in the page; an expected mistake, so no traceback in the logs."""
    return gr.Error(str(message), print_exception=False)


def _cell(value: Any) -> Any:
    if value is None or isinstance(value, int | float | str | bool):
        return value
    return str(value)


def build_interview_tab(services: InterviewServices, voice: VoiceService | None) -> InterviewTab:
    tab = InterviewTab(services, voice)
    # The page's state: the session reference; the text box, SQL editor and voice all act on it.
    ref = gr.State("")
    gr.Markdown(
        "Answer each question out loud or in the text box. For questions that ask for a query, write it in "
        "the SQL editor: you can run it on the practice data first, then submit it."
    )
    with gr.Row():
        employee_id = gr.Textbox(label="Employee ID", placeholder="E1234", scale=1, elem_id="employee-id")
        name = gr.Textbox(label="Name (first visit)", scale=2, elem_id="employee-name")
        department = gr.Textbox(label="Department", scale=1, elem_id="employee-department")
        role = gr.Textbox(label="Role", scale=1, elem_id="employee-role")
        dialect = gr.Dropdown(
            DIALECT_CHOICES, value="duckdb", label="Your SQL dialect", scale=1, elem_id="sql-dialect"
        )
    with gr.Row():
        start = gr.Button("Start or resume interview", variant="primary", elem_id="start-interview")
        end = gr.Button("End interview", elem_id="end-interview")
    status = gr.Markdown("No interview running. Enter your employee ID to start.", elem_id="interview-state")
    report = gr.Markdown("", elem_id="interview-report", render=False)
    with gr.Row(equal_height=False):
        with gr.Column(scale=3):
            chat = gr.Chatbot(
                type="messages",
                label="Transcript",
                height=460,
                elem_id="transcript",
                show_copy_button=True,
                render=False,
            )
            realtime = None
            if (
                services.settings.realtime_enabled
            ):  # the OpenAI Realtime interviewer (interview/realtime_ui.py)
                from interview.realtime_ui import build_realtime_component

                realtime = build_realtime_component(services, tab, ref, dialect, [chat, status, report])
            elif voice is not None:
                voice.build_component(tab, ref, dialect, [chat, status, report])
            chat.render()
            answer = gr.Textbox(
                label="Your answer (text mode)",
                lines=3,
                max_length=20_000,
                placeholder="Type your answer, then press Send (Shift+Enter for a new line).",
                elem_id="answer-text",
            )
            send = gr.Button("Send answer", elem_id="send-answer")
        with gr.Column(scale=2):
            sql = gr.Code(
                language="sql", label="SQL editor", lines=10, interactive=True, elem_id="sql-editor"
            )
            with gr.Row():
                run = gr.Button("Run on practice data", elem_id="run-sql")
                submit = gr.Button("Submit query", variant="primary", elem_id="submit-sql")
            run_note = gr.Markdown("", elem_id="run-note")
            result = gr.Dataframe(visible=False, wrap=True, max_height=300, elem_id="run-result")
            with gr.Accordion("Practice database: tables and columns", open=False):
                gr.Markdown(_schema_markdown(), elem_id="practice-schema")
    report.render()

    views = [ref, chat, status, report]
    if realtime is not None:
        realtime.bind(
            start=start,
            send=send,
            answer=answer,
            submit=submit,
            end=end,
            employee_id=employee_id,
            name=name,
            department=department,
            role=role,
            dialect=dialect,
            sql=sql,
            views=views,
        )
    else:
        start.click(tab.start, [employee_id, name, department, role, dialect, ref], views, api_name=False)
        send.click(tab.answer, [answer, ref, dialect], [answer, *views], api_name=False)
        answer.submit(tab.answer, [answer, ref, dialect], [answer, *views], api_name=False)
        submit.click(tab.submit_sql, [sql, ref, dialect], views, api_name=False)
        end.click(tab.end, [ref], views, api_name=False)
    run.click(tab.run_sql, [sql, ref, dialect], [result, run_note], api_name=False)
    return tab


def _schema_markdown() -> str:
    try:
        from interview.questions import schema_overview

        return f"```\n{schema_overview()}\n```"
    except Exception as exc:  # the tab must render even if the practice data is missing
        log.warning("practice schema unavailable", extra={"error": str(exc)})
        return "The practice database is not available."


__all__ = ["build_interview_tab", "InterviewTab", "transcript", "grading"]
