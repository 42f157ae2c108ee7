"""A full keyless voice interview in a real browser: Chromium with a fake microphone fed by an espeak-ng WAV file,
WebRTC over a veth pair in a private network namespace, from employee ID to report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from store import Store, repo
from tests.browser.support import NETNS_SETUP, ROOT, browser_missing, netns_missing, speech_wav

pytestmark = [pytest.mark.browser, pytest.mark.netns]


def test_a_spoken_interview_runs_from_employee_id_to_report(tmp_path: Path) -> None:
    reason = browser_missing() or netns_missing()
    if reason:
        pytest.skip(reason)
    wav = speech_wav(tmp_path / "idk.wav", "I don't know.")
    db = tmp_path / "voice.db"
    command = f"{NETNS_SETUP} && exec {sys.executable} -m tests.browser.scenarios.keyless_voice {db} {wav} {tmp_path}"
    run = subprocess.run(
        ["unshare", "-n", "bash", "-c", command], cwd=ROOT, capture_output=True, text=True, timeout=400
    )
    app_log = (tmp_path / "app.log").read_text() if (tmp_path / "app.log").exists() else ""
    app_lines = "\n".join(line for line in app_log.splitlines() if "uvicorn.access" not in line)
    assert run.returncode == 0, f"{run.stdout[-3000:]}\n{run.stderr[-3000:]}\n{app_lines[-6000:]}"
    shown = json.loads(run.stdout.strip().splitlines()[-1])
    assert any("know" in h.lower() for h in shown["heard"]), shown  # the speech was transcribed
    assert shown["reconnected"], shown  # Stop and Record again mid-interview, and the page kept up
    assert "Overall score: 0.00" in shown["report"] and "Recommendations" in shown["report"]
    store = Store.open(f"sqlite:///{db}")
    try:
        with store.read() as conn:
            sessions = repo.sessions_for_employee(conn, "V100")
            responses = repo.list_responses(conn, sessions[0]["id"])
    finally:
        store.close()
    assert sessions[0]["status"] == "completed" and len(responses) == 3
    assert all("know" in (r["response_text"] or "").lower() for r in responses)
    # No transcript in the logs.
    assert "I don't know" not in app_log and "know." not in app_log
