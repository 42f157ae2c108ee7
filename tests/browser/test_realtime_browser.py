"""A voice interview with the OpenAI Realtime interviewer in a real browser, against the fake Realtime server.

Chromium's fake microphone plays an espeak-ng WAV; WebRTC runs over a veth pair in a private network namespace
to `python app.py` (with an API key and ATHENA_REALTIME_URL pointing at the fake server, which runs in the same
namespace). The fake model asks one question; the candidate's speech reaches it through WebRTC, fastrtc, the
handler and the openai-agents client, and the interview ends with a report on the page.

The test launches the namespaced part itself: `python -m tests.browser.test_realtime_browser DB WAV OUT` runs the
fake server, the app and the browser, and prints one JSON line.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from store import Store, repo
from tests.browser.support import NETNS_SETUP, ROOT, browser_missing, netns_missing

pytestmark = [pytest.mark.browser, pytest.mark.netns]

KEY = "sk-test-athena"
ANSWER = "I would total the units per year first, then compare the two years."


def test_a_realtime_voice_interview_completes_in_a_real_browser(tmp_path: Path) -> None:
    reason = browser_missing() or netns_missing()
    if reason:
        pytest.skip(reason)
    wav = answer_wav(tmp_path / "answer.wav")
    db = tmp_path / "realtime.db"
    command = (
        f"{NETNS_SETUP} && exec {sys.executable} -m tests.browser.test_realtime_browser {db} {wav} {tmp_path}"
    )
    run = subprocess.run(
        ["unshare", "-n", "bash", "-c", command], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    app_log = (tmp_path / "app.log").read_text() if (tmp_path / "app.log").exists() else ""
    assert run.returncode == 0, f"{run.stdout[-3000:]}\n{run.stderr[-3000:]}\n{app_log[-4000:]}"
    shown = json.loads(run.stdout.strip().splitlines()[-1])
    assert shown["problems"] == [], shown["problems"]
    assert (
        shown["audio_bytes"] > 24_000 and shown["speech_started"] >= 1
    )  # the microphone reached the service
    assert "Overall score" in shown["report"]
    assert "Goodbye" in shown["live"]  # the live transcript showed the interviewer's words
    store = Store.open(f"sqlite:///{db}")
    try:
        with store.read() as conn:
            session = repo.sessions_for_employee(conn, "R100")[0]
            responses = repo.list_responses(conn, session["id"])
    finally:
        store.close()
    assert session["status"] == "completed" and session["brain"] == "realtime"
    assert len(responses) == 1 and responses[0]["scored_by"] == "realtime:gpt-realtime"
    assert responses[0]["response_text"] == shown["heard"][0]  # the transcript of the spoken answer
    assert KEY not in app_log  # the key is never logged


def answer_wav(path: Path) -> Path:
    """The microphone: a few seconds of silence (the interviewer speaks first), the answer, then silence."""
    raw = path.with_suffix(".raw.wav")
    subprocess.run(["espeak-ng", "-s", "150", "-w", str(raw), ANSWER], check=True, capture_output=True)
    subprocess.run(
        ["sox", str(raw), "-r", "48000", "-c", "1", "-b", "16", str(path), "pad", "5", "8"],
        check=True,
        capture_output=True,
    )
    return path


# ---------------------------------------------------------------------------------------------------- inside
def _interviewer() -> Any:
    """A scripted model for one question; calls come before speech, so a barge-in cannot lose them."""
    from interview.questions import load_bank
    from tests.fake_realtime import Call, Conversation, Say, Script

    bank = load_bank()

    def open_question(conv: Conversation) -> dict[str, Any] | None:
        logged = [o for o in conv.outputs("log_question_asked") if o.get("ok")]
        scored = [o for o in conv.outputs("log_response_evaluation") if o.get("ok")]
        return conv.last_output("next_question") if len(logged) > len(scored) else None

    def policy(conv: Conversation, trigger: str) -> list[Any]:
        if trigger == "start":
            return [Call("next_question"), Say("Hello Rosa, I'm Athena. Let's begin.")]
        if trigger == "speech":
            q = open_question(conv)
            if q is None or conv.outputs("grade_query") or len(conv.outputs("log_response_evaluation")):
                return []
            if q["kind"] == "hands_on":
                return [
                    Call(
                        "grade_query",
                        {"question_id": q["question_id"], "sql": bank[q["question_id"]].reference_sql},
                    )
                ]
            return [
                Call(
                    "log_response_evaluation",
                    {
                        "question_id": q["question_id"],
                        "score": 0.8,
                        "feedback": "Good.",
                        "evidence": "Explained it.",
                        "answer_summary": "An explanation.",
                    },
                )
            ]
        if not conv.tool_outputs:
            return []
        name, out = conv.last_tool
        if name == "next_question":
            if out["finished"]:
                return [Call("generate_session_report")]
            return [
                Call(
                    "log_question_asked",
                    {
                        "question_id": out["question_id"],
                        "question_as_asked": out["question"],
                        "category": out["category"],
                        "difficulty": out["difficulty"],
                    },
                ),
                Say(out["question"]),
            ]
        if name == "grade_query":
            q = conv.last_output("next_question")
            return [
                Call(
                    "log_response_evaluation",
                    {
                        "question_id": q["question_id"],
                        "score": 0.9,
                        "feedback": "Correct.",
                        "evidence": out["verdict"],
                        "answer_summary": "Dictated a query.",
                    },
                ),
                Say("The grader agrees with you."),
            ]
        if name == "log_response_evaluation":
            return [Call("next_question"), Say("Thank you.")]
        if name == "generate_session_report":
            return [Say(f"Your overall score is {out['overall_score']:.2f}. Goodbye!")]
        return []

    def hearing(conv: Conversation) -> str:
        q = open_question(conv)
        if q is None:
            return "Okay."
        return bank[q["question_id"]].reference_sql.strip() if q["kind"] == "hands_on" else ANSWER

    return Script(policy=policy, hearing=hearing)


def main() -> int:
    from playwright.sync_api import sync_playwright

    from tests.browser.support import CHROMIUM, CHROMIUM_ARGS, FAKE_MIC_ARGS, fill, free_port, running_app
    from tests.fake_realtime import FakeRealtimeServer

    db, wav, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    result: dict[str, Any] = {"completed": False}
    with FakeRealtimeServer(_interviewer(), api_keys=[KEY]) as fake:
        env = {
            "DATABASE_URL": f"sqlite:///{db}",
            "ATHENA_MAX_QUESTIONS": "1",
            "OPENAI_API_KEY": KEY,
            "ATHENA_REALTIME_URL": fake.url,
            "ATHENA_REALTIME_VAD_SILENCE_MS": "600",
        }
        with running_app(env, free_port(), out / "app.log") as url, sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM,
                args=[*CHROMIUM_ARGS, *FAKE_MIC_ARGS, f"--use-file-for-fake-audio-capture={wav}"],
            )
            page = browser.new_page(viewport={"width": 1400, "height": 1200})
            page.goto(url)
            page.wait_for_selector("#employee-id", timeout=60_000)
            fill(page, "employee-id", "R100")
            fill(page, "employee-name", "Rosa Realtime")
            page.click("#start-interview")
            page.wait_for_function(
                "document.querySelector('#interview-state').innerText.includes('Rosa')", timeout=30_000
            )
            page.locator("#realtime-voice").get_by_text("Click to Access Microphone").click()
            page.locator("#realtime-voice button", has_text="Record").first.click()
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                page.wait_for_timeout(500)
                if "is complete" in page.locator("#interview-state").inner_text():
                    result["completed"] = True
                    break
            page.wait_for_timeout(1000)
            result["report"] = page.locator("#interview-report").inner_text()
            result["status"] = page.locator("#interview-state").inner_text()
            result["voice_status"] = page.locator("#realtime-status").inner_text()
            result["live"] = page.locator("#realtime-transcript").inner_text()
            page.screenshot(path=str(out / "realtime_voice.png"), full_page=True)
            browser.close()
        conv = fake.conversations[0] if fake.conversations else None
        result.update(
            problems=fake.problems,
            audio_bytes=conv.audio_bytes if conv else 0,
            speech_started=conv.speech_started if conv else 0,
            heard=[t for t in (conv.transcripts if conv else []) if t != "Okay."],
        )
    print(json.dumps(result))
    return 0 if result["completed"] else 1


if __name__ == "__main__":
    sys.exit(main())
