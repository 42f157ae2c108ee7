"""The Analytics tab: filters, team charts, a people table, an employee drill-down (interviews, category radar,
the evidence behind each score) and a score override with a reason.

Every handler checks the caller's role first (analytics.auth.require_lead): Gradio handlers are callable through
its HTTP API, so hiding the tab would protect nothing. A refused page load gets a sign-in notice and no data;
any other refused call gets an error.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

import gradio as gr
import pandas as pd

from analytics import views
from analytics.auth import AccessDenied, Principal, require_lead
from analytics.duck import DuckError
from analytics.overrides import OverrideError, override_score
from analytics.queries import EMPLOYEE_SORTS, FilterError, Filters
from analytics.snapshot import SnapshotError
from store import Store

log = logging.getLogger(__name__)

EMPTY_HINT = (
    "**No interviews yet.** The charts fill in as interviews are recorded. To try the tab now, add demo "
    "data: `python -m analytics.demo --sessions 500`."
)
SIGN_IN = "**Sign in as a team lead to see the analytics.** [Sign in](/login)"
OPEN_MODE = (
    "Open mode: no accounts exist, so anyone on this machine can see these results. Create a lead account "
    "(`python -m analytics.users add NAME --role lead`) to require sign-in."
)
CHARTS = ("distribution", "heatmap", "departments", "employees", "questions")
# Answer id, #, Question, Category, Difficulty, Transcript, SQL, Grade, Feedback, Score, Original, Reason
# fmt: off
EVIDENCE_WIDTHS: list[str | int] = ["70px", "36px", "16%", "90px", "90px", "18%", "20%", "90px", "15%", "60px",
                                    "70px", "10%"]
# fmt: on


def _checked(store: Store, request: Any) -> Principal:
    try:
        return require_lead(request, store)
    except AccessDenied as exc:
        raise gr.Error(str(exc)) from None


def _friendly(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the domain's errors into the message the lead sees; anything else is logged and said plainly."""

    @functools.wraps(fn)  # keeps the signature: Gradio injects gr.Request / gr.SelectData by annotation
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except (FilterError, OverrideError) as exc:
            raise gr.Error(str(exc)) from None
        except (SnapshotError, DuckError) as exc:
            log.warning("analytics unavailable", extra={"error": str(exc)[:300]})
            raise gr.Error(f"The analytics cannot read the database right now: {exc}") from None

    return wrapper


def _evidence_choices(rows: list[dict[str, Any]]) -> list[tuple[str, int]]:
    return [
        (
            f"#{r['position'] or '?'} {r['question_ref'] or (r['question_text'] or '')[:40]} (score {r['score']:.2f})",
            int(r["response_id"]),
        )
        for r in rows
        if r["response_id"] is not None
    ]


def _session_markdown(header: dict[str, Any] | None, rows: list[dict[str, Any]]) -> str:
    if header is None:
        return "That interview no longer exists."
    s, person, report = header["session"], header["employee"], header["report"]
    who = f"{person['name']} ({person['id']})" if person else s["employee_id"]
    score = "–" if s["overall_score"] is None else f"{s['overall_score']:.2f}"
    lines = [f"#### Interview {s['id']}: {who}, {str(s['start_time'])[:16]}, {s['status']}, overall {score}"]
    if report:
        lines += [
            f"**Strengths:** {report['strengths']}",
            f"**Weaknesses:** {report['weaknesses']}",
            f"**Recommendations:** {report['recommendations']}",
            f"**Assessment:** {report['overall_assessment']}",
        ]
    else:
        lines.append("No report: the interview did not finish.")
    overridden = sum(1 for r in rows if r["original_score"] is not None)
    if overridden:
        lines.append(
            f"_{overridden} score(s) of this interview were overridden by a lead (see the table); the "
            "overall score above includes the overrides, the report text keeps the original wording._"
        )
    return "\n\n".join(lines)


def build_dashboard(store: Store) -> gr.Markdown:
    """Build the tab's components and events inside the current Blocks; returns the notice shown above it."""
    with gr.Column(elem_id="analytics"):
        notice = gr.Markdown(SIGN_IN, elem_id="analytics-notice")
        with gr.Column(visible=False, elem_id="analytics-body") as body:
            with gr.Row(equal_height=True):
                departments = gr.Dropdown(
                    [], multiselect=True, label="Departments", elem_id="filter-departments"
                )
                roles = gr.Dropdown([], multiselect=True, label="Roles", elem_id="filter-roles")
                start = gr.DateTime(include_time=False, type="string", label="From", elem_id="filter-start")
                end = gr.DateTime(include_time=False, type="string", label="To", elem_id="filter-end")
                refresh = gr.Button("Refresh", variant="primary", elem_id="analytics-refresh", scale=0)
            summary = gr.Markdown(elem_id="analytics-summary")
            with gr.Row():
                plots = {
                    "distribution": gr.Plot(elem_id="chart-distribution", show_label=False),
                    "heatmap": gr.Plot(elem_id="chart-heatmap", show_label=False),
                }
            with gr.Row():
                plots["departments"] = gr.Plot(elem_id="chart-departments", show_label=False)
                plots["employees"] = gr.Plot(elem_id="chart-employees", show_label=False)
            plots["questions"] = gr.Plot(elem_id="chart-questions", show_label=False)
            gr.Markdown(
                "### People\nClick a row to see that person's interviews and the evidence behind each score."
            )
            with gr.Row():
                search = gr.Textbox(label="Find by name or employee ID", elem_id="people-search", scale=3)
                sort = gr.Dropdown(
                    list(EMPLOYEE_SORTS), value="lowest score", label="Sort", elem_id="people-sort"
                )
            people = gr.Dataframe(
                headers=views.PEOPLE_COLUMNS,
                interactive=False,
                wrap=True,
                max_height=420,
                elem_id="people-table",
            )
            gr.Markdown("### Drill-down")
            with gr.Row(equal_height=True):
                employee = gr.Textbox(label="Employee ID", elem_id="drill-employee", scale=3)
                show = gr.Button("Show", elem_id="drill-show", scale=0)
            drill_header = gr.Markdown(elem_id="drill-header")
            with gr.Row():
                radar = gr.Plot(elem_id="chart-radar", show_label=False)
                trend = gr.Plot(elem_id="chart-employee-trend", show_label=False)
            sessions = gr.Dataframe(
                headers=views.SESSION_COLUMNS,
                interactive=False,
                max_height=320,
                label="Interviews (click one)",
                elem_id="drill-sessions",
            )
            session = gr.Dropdown([], label="Interview", elem_id="drill-session")
            session_md = gr.Markdown(elem_id="drill-session-header")
            evidence = gr.Dataframe(
                headers=views.EVIDENCE_COLUMNS,
                interactive=False,
                wrap=True,
                max_height=700,
                column_widths=EVIDENCE_WIDTHS,
                label="Evidence behind each score (click a row to override it)",
                elem_id="drill-evidence",
            )
            with gr.Accordion("Override a score", open=True, elem_id="override"):
                with gr.Row(equal_height=True):
                    answer = gr.Dropdown([], label="Answer", elem_id="override-response", scale=3)
                    new_score = gr.Number(
                        label="New score (0 to 1)", minimum=0, maximum=1, step=0.01, elem_id="override-score"
                    )
                reason = gr.Textbox(label="Reason (kept with the change)", elem_id="override-reason")
                apply = gr.Button("Override score", variant="primary", elem_id="override-apply")
                override_status = gr.Markdown(elem_id="override-status")

    filters_in = [departments, roles, start, end]
    team_out = [summary, *plots.values(), people]
    drill_out = [drill_header, radar, trend, sessions, session, session_md, evidence, answer]
    session_out = [session, session_md, evidence, answer]

    def filters_of(depts: Any, role_values: Any, first: Any, last: Any) -> Filters:
        return Filters.parse(depts, role_values, first, last)

    def team(f: Filters, sort_by: str, text: str) -> list[Any]:
        view = views.team_view(store, f, sort=sort_by or "lowest score", search=text or "")
        head = views.summary_markdown(view) if view.overview["sessions"] or f != Filters() else EMPTY_HINT
        return [head, *(view.figures[name] for name in CHARTS), view.people]

    def session_outputs(session_id: int | None) -> list[Any]:
        if session_id is None:
            return [
                gr.update(value=None),
                "",
                pd.DataFrame(columns=views.EVIDENCE_COLUMNS),
                gr.update(choices=[], value=None),
            ]
        header, rows = views.session_view(store, session_id)
        choices = _evidence_choices(rows)
        return [
            gr.update(value=session_id),
            _session_markdown(header, rows),
            views.evidence_frame(rows),
            gr.update(choices=choices, value=None),
        ]

    def drill(employee_id: str, f: Filters, session_id: int | None = None) -> list[Any]:
        employee_id = (employee_id or "").strip()
        if not employee_id:
            raise gr.Error("Type an employee ID, or click a row of the people table.")
        view = views.employee_view(store, employee_id, f)
        if view is None:
            raise gr.Error(f"No employee has the ID {employee_id[:80]!r}.")
        info = view.info
        header = (
            f"### {info['name'] or employee_id} ({employee_id})\n{info['department'] or 'no department'}, "
            f"{info['role'] or 'no role'}; {len(view.session_ids)} interviews in the date range."
        )
        chosen = session_id if session_id is not None else (view.session_ids[0] if view.session_ids else None)
        outputs = session_outputs(chosen)
        choices = [(f"Interview {sid}", sid) for sid in view.session_ids]
        if chosen is not None and chosen not in view.session_ids:
            choices.append((f"Interview {chosen}", chosen))
        outputs[0] = gr.update(choices=choices, value=chosen)
        return [header, view.radar, view.trend, view.sessions, *outputs]

    @_friendly
    def on_load(request: gr.Request) -> list[Any]:
        try:
            principal = require_lead(request, store)
        except AccessDenied as exc:
            message = SIGN_IN if exc.status == 401 else f"**{exc}**"
            return [message, gr.update(visible=False)] + [gr.update()] * (4 + len(team_out))
        view = views.team_view(store, Filters())
        opts = view.options
        note = (
            OPEN_MODE if principal.open_mode else f"Signed in as **{principal.username}** ({principal.role})."
        )
        head = views.summary_markdown(view) if view.overview["sessions"] else EMPTY_HINT
        return [
            note,
            gr.update(visible=True),
            gr.update(choices=opts.departments, value=[]),
            gr.update(choices=opts.roles, value=[]),
            None,
            None,
            head,
            *(view.figures[name] for name in CHARTS),
            view.people,
        ]

    @_friendly
    def on_refresh(
        depts: Any, role_values: Any, first: Any, last: Any, sort_by: str, text: str, request: gr.Request
    ) -> list[Any]:
        _checked(store, request)
        return team(filters_of(depts, role_values, first, last), sort_by, text)

    @_friendly
    def on_people(
        depts: Any, role_values: Any, first: Any, last: Any, sort_by: str, text: str, request: gr.Request
    ) -> pd.DataFrame:
        _checked(store, request)
        f = filters_of(depts, role_values, first, last)
        return views.people_view(store, f, sort=sort_by or "lowest score", search=text or "")

    @_friendly
    def on_pick_person(first: Any, last: Any, evt: gr.SelectData, request: gr.Request) -> list[Any]:
        _checked(store, request)
        row = evt.row_value or []
        if not row:
            raise gr.Error("Click a row of the people table.")
        return [str(row[0]), *drill(str(row[0]), filters_of(None, None, first, last))]

    @_friendly
    def on_drill(employee_id: str, first: Any, last: Any, request: gr.Request) -> list[Any]:
        _checked(store, request)
        return drill(employee_id, filters_of(None, None, first, last))

    @_friendly
    def on_session(session_id: Any, request: gr.Request) -> list[Any]:
        _checked(store, request)
        return session_outputs(int(session_id) if session_id not in (None, "") else None)

    @_friendly
    def on_pick_session(evt: gr.SelectData, request: gr.Request) -> list[Any]:
        _checked(store, request)
        row = evt.row_value or []
        return session_outputs(int(row[0]) if row and str(row[0]).isdigit() else None)

    @_friendly
    def on_pick_answer(evt: gr.SelectData, request: gr.Request) -> list[Any]:
        _checked(store, request)
        row = evt.row_value or []
        if not row or row[0] in (None, ""):
            raise gr.Error("That question has no scored answer to override.")
        return [gr.update(value=int(row[0])), row[views.EVIDENCE_COLUMNS.index("Score")]]

    @_friendly
    def on_override(
        employee_id: str,
        first: Any,
        last: Any,
        session_id: Any,
        response_id: Any,
        score: Any,
        why: str,
        request: gr.Request,
    ) -> list[Any]:
        principal = _checked(store, request)
        result = override_score(store, principal, response_id, score, why)
        overall = (
            ""
            if result.overall_score is None
            else f"; the interview's overall score is now {result.overall_score:.2f}"
        )
        status = (
            f"Answer {result.response_id}: score {result.previous_score:.2f} → {result.new_score:.2f} "
            f"(original {result.original_score:.2f}){overall}. Recorded in the audit log."
        )
        if (employee_id or "").strip():
            outputs = drill(employee_id, filters_of(None, None, first, last), result.session_id)
        else:
            outputs = [gr.update()] * 4 + session_outputs(result.session_id)
        return [status, "", *outputs]

    events: dict[str, Any] = {"show_api": False, "concurrency_limit": 4}
    root = gr.context.Context.root_block
    if root is None:
        raise RuntimeError("build_dashboard must be called inside a gr.Blocks context")
    root.load(on_load, None, [notice, body, *filters_in, *team_out], **events)
    gr.on([refresh.click], on_refresh, [*filters_in, sort, search], team_out, **events)
    gr.on([search.submit, sort.input], on_people, [*filters_in, sort, search], [people], **events)
    people.select(on_pick_person, [start, end], [employee, *drill_out], **events)
    gr.on([show.click, employee.submit], on_drill, [employee, start, end], drill_out, **events)
    session.input(on_session, [session], session_out, **events)
    sessions.select(on_pick_session, None, session_out, **events)
    evidence.select(on_pick_answer, None, [answer, new_score], **events)
    apply.click(
        on_override,
        [employee, start, end, session, answer, new_score, reason],
        [override_status, reason, *drill_out],
        **events,
    )
    return notice
