"""The SQL Console tab: editor, sample queries, run, sortable results, CSV download, sign-in state, accounts.

Every handler here checks the caller's role itself (Gradio handlers are callable through its HTTP API); the
only handler that answers anonymous callers is the page-load one, and it answers with the sign-in prompt only.
Element ids (for browser tests): console-auth, console-samples, console-sql, console-run, console-info,
console-results, console-csv, console-accounts, accounts-table, accounts-name, accounts-password, accounts-role,
accounts-add, accounts-action, accounts-apply, accounts-message.
"""

from __future__ import annotations

import csv
import json
import logging
import shutil
import tempfile
import time
import weakref
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd

from analytics import accounts
from analytics.auth import AccessDenied, Principal, access_mode, auth_for
from analytics.console import ConsoleError, ConsoleResult, console_for
from analytics.routes import LOGIN_PATH, LOGOUT_PATH
from settings import Settings
from store import Store

log = logging.getLogger(__name__)

SAMPLES: dict[str, str] = {
    "Average score by department": """SELECT e.department,
       count(DISTINCT s.id)          AS interviews,
       round(avg(s.overall_score), 3) AS avg_score
FROM interview_sessions s
JOIN employees e ON e.id = s.employee_id
WHERE s.overall_score IS NOT NULL
GROUP BY e.department
ORDER BY avg_score DESC""",
    "Score by category and difficulty": """SELECT q.category, q.difficulty,
       count(*)               AS answers,
       round(avg(r.score), 3) AS avg_score
FROM interview_responses r
JOIN interview_questions q ON q.id = r.question_id
GROUP BY q.category, q.difficulty
ORDER BY avg_score""",
    "Questions people fail most": """SELECT q.question_text, q.category, q.difficulty,
       count(*)                                    AS asked,
       round(avg(r.score), 3)                      AS avg_score,
       round(avg(CASE WHEN r.score < 0.5 THEN 1 ELSE 0 END), 3) AS fail_rate
FROM interview_responses r
JOIN interview_questions q ON q.id = r.question_id
GROUP BY q.question_text, q.category, q.difficulty
HAVING count(*) >= 3
ORDER BY fail_rate DESC, avg_score
LIMIT 25""",
    "Monthly trend per department": """SELECT date_trunc('month', s.start_time) AS month, e.department,
       count(*)                       AS interviews,
       round(avg(s.overall_score), 3) AS avg_score
FROM interview_sessions s
JOIN employees e ON e.id = s.employee_id
WHERE s.overall_score IS NOT NULL
GROUP BY month, e.department
ORDER BY month, e.department""",
    "Latest interviews": """SELECT s.id, e.name, e.department, e.role, s.start_time, s.status,
       round(s.overall_score, 3) AS overall_score
FROM interview_sessions s
JOIN employees e ON e.id = s.employee_id
ORDER BY s.start_time DESC
LIMIT 50""",
    "Employees without an interview": """SELECT e.id, e.name, e.department, e.role
FROM employees e
WHERE NOT EXISTS (SELECT 1 FROM interview_sessions s WHERE s.employee_id = e.id)
ORDER BY e.department, e.name""",
    "Score overrides": """SELECT o.at, o.actor, o.response_id, o.original_score, o.new_score, o.reason
FROM score_overrides o
ORDER BY o.at DESC""",
    "Tables you can query": "SHOW TABLES",
}
DEFAULT_SQL = SAMPLES["Average score by department"]


def auth_markdown(principal: Principal | None) -> str:
    if principal is None:
        return f"**Sign in to use the SQL console.** [Sign in]({LOGIN_PATH}?next=/) as a team lead or admin."
    if principal.open_mode:
        return (
            "**Open mode:** no accounts exist, so anyone who can reach this computer can use the console. "
            "Create an admin (`python -m analytics.users add NAME --role admin`) to require sign-in."
        )
    return f"Signed in as **{principal.username}** ({principal.role}) · [Sign out]({LOGOUT_PATH})"


def info_markdown(result: ConsoleResult) -> str:
    count = len(result.rows)
    rows = f"{count:,} row{'s' if count != 1 else ''}"
    text = f"{rows} · {result.elapsed_ms:.1f} ms"
    if result.truncated:
        text += (
            " · **truncated**: showing the first rows only (or shortened long values); add a LIMIT or "
            "aggregate to see everything"
        )
    return text


def _display_value(value: Any) -> Any:
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return value


def result_frame(result: ConsoleResult) -> pd.DataFrame:
    """The result as a DataFrame for display: unique column headers, nested values shown as JSON."""
    headers: list[str] = []
    seen: dict[str, int] = {}
    for name in result.columns:
        seen[name] = seen.get(name, 0) + 1
        headers.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    rows = [[_display_value(v) for v in row] for row in result.rows]
    return pd.DataFrame(rows, columns=headers)


class _CsvFiles:
    """CSV downloads in a private temporary folder; files older than an hour are removed."""

    def __init__(self) -> None:
        self.folder: Path | None = None

    def write(self, result: ConsoleResult) -> str:
        if self.folder is None or not self.folder.exists():
            self.folder = Path(tempfile.mkdtemp(prefix="athena-csv-"))
            weakref.finalize(self, shutil.rmtree, self.folder, True)  # at the latest when the process exits
        now = time.time()
        for old in self.folder.glob("*.csv"):
            if now - old.stat().st_mtime > 3600:
                old.unlink(missing_ok=True)
        path = self.folder / f"athena-query-{time.strftime('%Y%m%d-%H%M%S')}-{int(now * 1000) % 1000:03d}.csv"
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(result.columns)
            for row in result.rows:
                writer.writerow([_display_value(v) for v in row])
        return str(path)


def accounts_frame(store: Store) -> pd.DataFrame:
    rows = [
        [
            a.username,
            a.role,
            "disabled" if a.disabled else "active",
            a.created_at.strftime("%Y-%m-%d %H:%M") if a.created_at else "",
        ]
        for a in accounts.list_accounts(store)
    ]
    return pd.DataFrame(rows, columns=["user", "role", "status", "created (UTC)"])


def _denied(exc: AccessDenied) -> gr.Error:
    return gr.Error(str(exc), title="Not allowed")


def build_console_tab(store: Store, settings: Settings) -> None:
    """Build the tab's components and handlers inside the caller's `gr.Tab`."""
    auth = auth_for(store, settings)
    csv_files = _CsvFiles()

    auth_md = gr.Markdown(auth_markdown(None), elem_id="console-auth")
    gr.Markdown(
        "Read-only SQL over the interview data (DuckDB dialect). One statement per run; "
        f"at most {settings.console_max_rows:,} rows and {settings.console_timeout_s:g} s."
    )
    with gr.Row():
        samples = gr.Dropdown(
            choices=list(SAMPLES), value=None, label="Sample queries", elem_id="console-samples", scale=3
        )
        run = gr.Button("Run query", variant="primary", elem_id="console-run", scale=1)
    sql = gr.Code(
        value=DEFAULT_SQL, language="sql", label="SQL", interactive=True, lines=8, elem_id="console-sql"
    )
    info = gr.Markdown("", elem_id="console-info")
    results = gr.Dataframe(
        value=pd.DataFrame(),
        label="Results (hover a column header and use ⋮ to sort or filter)",
        interactive=False,
        wrap=True,
        visible=False,
        elem_id="console-results",
        max_height=600,
    )
    download = gr.DownloadButton("Download CSV", value=None, visible=False, elem_id="console-csv")

    with gr.Accordion(
        "Accounts (admins)", open=False, visible=False, elem_id="console-accounts"
    ) as accounts_box:
        accounts_table = gr.Dataframe(
            value=pd.DataFrame(), interactive=False, elem_id="accounts-table", label="Accounts"
        )
        with gr.Row():
            new_name = gr.Textbox(label="User name", elem_id="accounts-name")
            new_password = gr.Textbox(
                label="Password (at least 8 characters)", type="password", elem_id="accounts-password"
            )
            new_role = gr.Radio(
                choices=list(accounts.ROLES), value="lead", label="Role", elem_id="accounts-role"
            )
        with gr.Row():
            add = gr.Button("Add account", elem_id="accounts-add")
            action = gr.Radio(
                choices=["disable", "enable", "set password"],
                value="disable",
                label="For this user",
                elem_id="accounts-action",
            )
            apply = gr.Button("Apply", elem_id="accounts-apply")
        account_message = gr.Markdown("", elem_id="accounts-message")

    # Filled in the browser: choosing a sample needs no server round trip (and no endpoint to guard).
    samples.change(None, samples, sql, js=f"(name) => ({json.dumps(SAMPLES)})[name] ?? ''")

    def on_load(request: gr.Request) -> tuple[Any, ...]:
        try:
            principal = auth.require_lead(request)
        except AccessDenied:
            return auth_markdown(None), gr.Accordion(visible=False), pd.DataFrame()
        if principal.is_admin and not principal.open_mode:
            return auth_markdown(principal), gr.Accordion(visible=True), accounts_frame(store)
        return auth_markdown(principal), gr.Accordion(visible=False), pd.DataFrame()

    def on_run(query: str, request: gr.Request) -> tuple[Any, ...]:
        try:
            principal = auth.require_lead(request)
        except AccessDenied as exc:
            raise _denied(exc) from None
        try:
            result = console_for(store, settings).run(query or "")
        except ConsoleError as exc:
            return (
                f"**Error:** {exc}",
                gr.Dataframe(visible=False),
                gr.DownloadButton(value=None, visible=False),
            )
        log.info("console query", extra={"account": principal.username, "rows": len(result.rows)})
        return (
            info_markdown(result),
            gr.Dataframe(value=result_frame(result), visible=bool(result.columns)),
            gr.DownloadButton(value=csv_files.write(result), visible=bool(result.columns)),
        )

    def on_add(name: str, password: str, role: str, request: gr.Request) -> tuple[Any, ...]:
        try:
            admin = auth.require_admin(request)
        except AccessDenied as exc:
            raise _denied(exc) from None
        if access_mode(store) == "open":
            raise gr.Error(
                "Create the first admin with the CLI: python -m analytics.users add NAME --role admin"
            )
        try:
            account = accounts.create_account(store, name, password, role, actor=admin.username)
        except accounts.AccountError as exc:
            return f"**Not added:** {exc}", accounts_frame(store), password
        return f"Added **{account.username}** ({account.role}).", accounts_frame(store), ""

    def on_apply(name: str, what: str, password: str, request: gr.Request) -> tuple[Any, ...]:
        try:
            admin = auth.require_admin(request)
        except AccessDenied as exc:
            raise _denied(exc) from None
        try:
            if what == "set password":
                account = accounts.set_password(store, name, password, actor=admin.username)
                done = f"New password set for **{account.username}**."
            elif what in ("disable", "enable"):
                account = accounts.set_disabled(store, name, what == "disable", actor=admin.username)
                done = f"**{account.username}** is now {'disabled' if account.disabled else 'active'}."
            else:
                raise accounts.AccountError(f"Unknown action {what!r}")
        except accounts.AccountError as exc:
            return f"**Not done:** {exc}", accounts_frame(store), password
        return done, accounts_frame(store), ""

    root = gr.context.Context.root_block
    if root is None:
        raise RuntimeError("build_console_tab must be called inside a gr.Blocks context")
    root.load(on_load, None, [auth_md, accounts_box, accounts_table], show_api=False)
    run.click(on_run, sql, [info, results, download], show_api=False, concurrency_limit=4)
    add.click(
        on_add,
        [new_name, new_password, new_role],
        [account_message, accounts_table, new_password],
        show_api=False,
    )
    apply.click(
        on_apply,
        [new_name, action, new_password],
        [account_message, accounts_table, new_password],
        show_api=False,
    )


def lead_tabs_visibility(store: Store, settings: Settings, tabs: list[gr.Tab]) -> None:
    """Show `tabs` (Analytics, Console) on page load only to a signed-in lead or admin (or in open mode).

    Hiding is for the candidate's sake, not security: each handler in those tabs checks the role itself.
    """
    auth = auth_for(store, settings)
    root = gr.context.Context.root_block
    if root is None:
        raise RuntimeError("lead_tabs_visibility must be called inside a gr.Blocks context")

    def visible(request: gr.Request) -> tuple[Any, ...]:
        try:
            auth.require_lead(request)
            shown = True
        except AccessDenied:
            shown = False
        return tuple(gr.Tab(visible=shown) for _ in tabs)

    root.load(visible, None, tabs, show_api=False)
