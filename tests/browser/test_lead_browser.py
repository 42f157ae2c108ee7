"""A team lead in a real browser: signs in, browses the charts, filters, drills down to the evidence behind a
score, overrides it with a reason, and runs a console query. A candidate sees only the Interview tab."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from analytics import accounts, demo
from analytics.demo_content import QUESTIONS_DIR, load_demo_bank
from store import Store
from store.schema import audit_log, interview_responses, score_overrides
from tests.browser.support import CHROMIUM, CHROMIUM_ARGS, browser_missing, fill, free_port, running_app

pytestmark = pytest.mark.browser

LEAD, PASSWORD = "lena", "lena-password-1"
CHARTS = ("chart-distribution", "chart-heatmap", "chart-departments", "chart-employees", "chart-questions")


@pytest.fixture(scope="module")
def lead_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    reason = browser_missing()
    if reason:
        pytest.skip(reason)
    folder = tmp_path_factory.mktemp("lead-browser")
    db = folder / "athena.db"
    store = Store.open(f"sqlite:///{db}")
    demo.generate(store, 150, seed=7, bank=load_demo_bank(QUESTIONS_DIR))
    accounts.create_account(store, LEAD, PASSWORD, "lead", actor="test")
    store.close()
    env = {"DATABASE_URL": f"sqlite:///{db}", "ATHENA_LOCAL_VOICE": "false"}
    with running_app(env, free_port(), folder / "app.log") as url:
        yield url, db


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def wait_text(page, selector: str, pattern: str, timeout: int = 30_000) -> str:
    """Wait until the element's text matches `pattern` (a regex); returns the text. On a timeout, says what the
    element and any error toast showed instead."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(
            "([sel, pat]) => { const el = document.querySelector(sel); return el && new RegExp(pat).test(el.innerText); }",
            arg=[selector, pattern],
            timeout=timeout,
        )
    except PlaywrightTimeout:
        shown = page.locator(selector).inner_text() if page.locator(selector).count() else "(missing)"
        toasts = " | ".join(page.locator(".toast-body").all_inner_texts())
        raise AssertionError(
            f"{selector} never matched {pattern!r}: it shows {shown[:300]!r}; toasts: {toasts!r}"
        ) from None
    return page.locator(selector).inner_text()


def table_rows(page, elem_id: str):
    """The rows of a Gradio Dataframe (it also renders a hidden sizing table first: use the last one)."""
    return page.locator(f"#{elem_id} table").last.locator("tbody tr")


def test_a_candidate_sees_only_the_interview_tab(lead_app: tuple[str, Path], browser) -> None:
    url, _ = lead_app
    page = browser.new_page()
    page.goto(url)
    page.get_by_role("tab", name="Interview").wait_for(timeout=60_000)
    page.wait_for_timeout(1500)  # the page-load events have run
    assert page.get_by_role("tab", name="Analytics").count() == 0
    assert page.get_by_role("tab", name="SQL Console").count() == 0
    assert page.locator("#chart-heatmap .js-plotly-plot").count() == 0
    page.close()


def test_a_lead_browses_drills_down_overrides_and_queries(lead_app: tuple[str, Path], browser) -> None:
    url, db = lead_app
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    # sign in
    page.goto(url + "login")
    page.fill("#username", LEAD)
    page.fill("#password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_url(re.compile(r"/(\?.*)?$"), timeout=30_000)

    # browse: every chart draws, the summary counts the demo interviews
    page.get_by_role("tab", name="Analytics").click(timeout=60_000)
    for chart in CHARTS:
        page.locator(f"#{chart} .js-plotly-plot").wait_for(timeout=60_000)
    assert "150 interviews" in wait_text(page, "#analytics-summary", r"interviews")
    assert f"Signed in as {LEAD}" in page.locator("#analytics-notice").inner_text()

    # filter by one department
    page.locator("#filter-departments input").click()
    page.get_by_role("option", name="Data", exact=True).click()
    page.keyboard.press("Escape")
    page.click("#analytics-refresh")
    summary = wait_text(page, "#analytics-summary", r"Showing Data;")
    assert "Data" in summary
    assert table_rows(page, "people-table").count() >= 1

    # drill down: click a person, see their interviews, radar and evidence
    first = table_rows(page, "people-table").first
    employee_id = first.locator("td").first.inner_text().strip()
    first.locator("td").nth(1).click()
    header = wait_text(page, "#drill-header", re.escape(employee_id))
    assert "interviews in the date range" in header
    page.locator("#chart-radar .js-plotly-plot").wait_for(timeout=30_000)
    wait_text(page, "#drill-session-header", r"Interview \d+")
    evidence = table_rows(page, "drill-evidence")
    assert evidence.count() >= 1
    first_answer = evidence.first
    response_id = int(first_answer.locator("td").first.inner_text().strip())
    transcript = first_answer.locator("td").nth(5).inner_text().strip()
    assert len(transcript) > 10
    current = float(first_answer.locator("td").nth(9).inner_text().strip())
    new_score = "0.97" if abs(current - 0.97) > 0.001 else "0.93"

    # override that score with a reason
    first_answer.locator("td").nth(2).click()
    page.wait_for_function(
        "() => document.querySelector('#override-response input')?.value?.startsWith('#')", timeout=30_000
    )
    fill(page, "override-score", new_score)
    fill(page, "override-reason", "Correct alternative the grader did not accept")
    page.click("#override-apply")
    status = wait_text(page, "#override-status", r"Answer \d+: score")
    assert f"Answer {response_id}: score" in status and f"→ {new_score}" in status
    wait_text(page, "#drill-evidence", r"Correct alternative the grader did not accept")

    store = Store.open(f"sqlite:///{db}", migrate=False)
    try:
        with store.read() as conn:
            row = conn.execute(select(score_overrides)).mappings().one()
            score = conn.execute(
                select(interview_responses.c.score).where(interview_responses.c.id == response_id)
            ).scalar()
            audit = (
                conn.execute(select(audit_log).where(audit_log.c.action == "score_override")).mappings().one()
            )
    finally:
        store.close()
    assert (row["response_id"], row["new_score"], row["actor"]) == (response_id, float(new_score), LEAD)
    assert row["original_score"] == pytest.approx(current, abs=0.001)
    assert score == float(new_score) and audit["actor"] == LEAD

    # run a console query over the same data
    page.get_by_role("tab", name="SQL Console").click()
    editor = page.locator("#console-sql .cm-content")
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("SELECT count(*) AS overrides FROM score_overrides")
    page.click("#console-run")
    results = wait_text(page, "#console-results", r"overrides")
    assert re.search(r"\b1\b", results)
    assert not errors, errors
    page.close()
