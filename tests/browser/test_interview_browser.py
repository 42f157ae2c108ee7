"""The Interview tab in a real browser: text mode with the SQL editor, clear messages for bad input and a denied
microphone, and a browser that goes away mid-interview losing nothing."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from interview.questions import load_bank
from store import Store, repo
from tests.browser.support import CHROMIUM, CHROMIUM_ARGS, browser_missing, fill, free_port, running_app

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    reason = browser_missing()
    if reason:
        pytest.skip(reason)
    folder = tmp_path_factory.mktemp("interview-browser")
    db = folder / "athena.db"
    with running_app(
        {"DATABASE_URL": f"sqlite:///{db}", "ATHENA_MAX_QUESTIONS": "4"}, free_port(), folder / "app.log"
    ) as url:
        yield url, db


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[*CHROMIUM_ARGS, "--use-fake-device-for-media-stream", "--deny-permission-prompts"],
        )
        yield b
        b.close()


def toast_text(page) -> str:
    page.wait_for_selector(".toast-body", timeout=15_000)
    return " ".join(page.locator(".toast-body").all_inner_texts())


def start(page, url: str, employee: str, name: str = "Tess Text") -> None:
    page.goto(url)
    page.wait_for_selector("#employee-id", timeout=60_000)
    fill(page, "employee-id", employee)
    fill(page, "employee-name", name)
    page.click("#start-interview")
    page.wait_for_function(
        "document.querySelector('#interview-state').innerText.includes('question')", timeout=30_000
    )


def state(page) -> str:
    """Where the interview stands, as the page says it ("question 2 of 4" or "complete"); "" while loading."""
    text = page.locator("#interview-state").inner_text()
    found = re.search(r"question \d+ of \d+|is complete|was interrupted", text)
    return found.group(0) if found else ""


def current_question(db: Path, employee: str):
    bank = load_bank()
    store = Store.open(f"sqlite:///{db}", migrate=False)
    try:
        with store.read() as conn:
            session = repo.sessions_for_employee(conn, employee)[0]
            asked = repo.list_questions(conn, session["id"])
    finally:
        store.close()
    return bank.get(asked[-1]["question_ref"]), session


def wait_for_state_change(page, before: str) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        now = state(page)
        if now and now != before:
            # Wait until the whole reply has rendered, not just the status line.
            number = re.search(r"question (\d+)", now)
            selector = "#transcript" if number else "#interview-report"
            needle = f"Question {number.group(1)}" if number else "Overall score"
            page.wait_for_function(
                f"document.querySelector('{selector}').innerText.includes('{needle}')", timeout=15_000
            )
            page.wait_for_timeout(300)
            return now
        page.wait_for_timeout(200)
    raise AssertionError(f"state stayed {before!r}; toasts: {page.locator('.toast-body').all_inner_texts()}")


def test_a_text_interview_with_the_sql_editor_reaches_the_report(app_url, browser) -> None:
    url, db = app_url
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    start(page, url, "T100")
    for _ in range(10):
        if "is complete" in state(page):
            break
        q, _ = current_question(db, "T100")
        before = state(page)
        if q.kind == "hands_on":
            page.locator("#sql-editor .cm-content").fill(q.reference_sql)
            page.click("#run-sql")
            page.wait_for_function(
                "document.querySelector('#run-note').innerText.includes('row(s)')", timeout=20_000
            )
            page.click("#submit-sql")
        else:
            fill(page, "answer-text", "I don't know")
            page.click("#send-answer")
        wait_for_state_change(page, before)
    assert "is complete" in state(page)
    report = page.locator("#interview-report").inner_text()
    assert "Overall score" in report and "Recommendations" in report
    transcript = page.locator("#transcript").inner_text()
    assert "Question 1" in transcript and "Score 1.00" in transcript
    page.close()


@pytest.mark.parametrize(
    ("kind", "answer", "message"),
    [
        (None, "", "The answer is empty."),
        ("hands_on", "I would join orders to customers and count them", "This question asks for a query"),
    ],
)
def test_bad_answers_get_a_clear_message_and_record_nothing(app_url, browser, kind, answer, message) -> None:
    url, db = app_url
    page = browser.new_page()
    employee = f"B{abs(hash((kind, answer))) % 10_000}"
    start(page, url, employee)
    while kind and current_question(db, employee)[0].kind != kind:
        before = state(page)
        fill(page, "answer-text", "I don't know")
        page.click("#send-answer")
        wait_for_state_change(page, before)
    _, session = current_question(db, employee)
    answered_before = Store.open(f"sqlite:///{db}", migrate=False)
    try:
        with answered_before.read() as conn:
            n_before = len(repo.list_responses(conn, session["id"]))
        fill(page, "answer-text", answer)
        page.click("#send-answer")
        assert message in toast_text(page)
        with answered_before.read() as conn:
            assert len(repo.list_responses(conn, session["id"])) == n_before
    finally:
        answered_before.close()
    page.close()


def test_a_denied_microphone_says_so_and_text_answers_still_work(app_url, browser) -> None:
    url, _ = app_url
    page = browser.new_page()
    start(page, url, "M100")
    page.get_by_text("Click to Access Microphone").click()
    assert "Please allow access to the microphone" in toast_text(page)
    before = state(page)
    fill(page, "answer-text", "I don't know")
    page.click("#send-answer")
    assert "question 2" in wait_for_state_change(page, before)
    page.close()


def test_a_browser_that_goes_away_mid_interview_loses_nothing(app_url, browser) -> None:
    url, db = app_url
    context = browser.new_context()
    page = context.new_page()
    start(page, url, "D100")
    before = state(page)
    fill(page, "answer-text", "I don't know")
    page.click("#send-answer")
    wait_for_state_change(page, before)
    context.close()  # the browser goes away with question 2 open
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        _, session = current_question(db, "D100")
        if session["status"] == "incomplete":
            break
        time.sleep(1)
    assert session["status"] == "incomplete"
    page = browser.new_page()
    page.goto(url)
    page.wait_for_selector("#employee-id", timeout=60_000)
    fill(page, "employee-id", "D100")
    page.click("#start-interview")
    page.wait_for_function(
        "document.querySelector('#interview-state').innerText.includes('question 2 of 4')", timeout=30_000
    )
    assert (
        "Welcome back" in page.locator("#transcript").inner_text()
        or "Question 2" in page.locator("#transcript").inner_text()
    )
    _, session = current_question(db, "D100")
    assert session["status"] == "in_progress"
    page.close()
