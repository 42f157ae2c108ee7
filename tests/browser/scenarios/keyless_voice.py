"""Run inside a private network namespace: the app, and Chromium whose fake microphone says "I don't know".

The candidate starts by employee ID, presses Record, and answers every question by voice until the report. Once the
second question is up, the candidate presses Stop and Record again: the page must keep updating on the new connection.
Prints one JSON line with what the page showed; exits non-zero when the interview did not complete.
Usage: python -m tests.browser.scenarios.keyless_voice DB_PATH WAV_PATH OUT_DIR
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from tests.browser.support import CHROMIUM, CHROMIUM_ARGS, FAKE_MIC_ARGS, fill, free_port, running_app


def main() -> int:
    db, wav, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    port = free_port()
    env = {"DATABASE_URL": f"sqlite:///{db}", "ATHENA_MAX_QUESTIONS": "3"}
    result: dict[str, object] = {"heard": [], "completed": False, "reconnected": False}
    with running_app(env, port, out / "app.log") as url, sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[*CHROMIUM_ARGS, *FAKE_MIC_ARGS, f"--use-file-for-fake-audio-capture={wav}"],
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.goto(url)
        page.wait_for_selector("#employee-id", timeout=60_000)
        fill(page, "employee-id", "V100")
        fill(page, "employee-name", "Vera Voice")
        page.click("#start-interview")
        page.wait_for_function(
            "document.querySelector('#interview-state').innerText.includes('question 1 of 3')", timeout=30_000
        )
        page.get_by_text("Click to Access Microphone").click()
        page.locator("#voice button", has_text="Record").first.click()
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            page.wait_for_timeout(1000)
            heard = page.locator("#voice-heard").inner_text().strip()
            if heard and (not result["heard"] or result["heard"][-1] != heard):  # type: ignore[index]
                result["heard"].append(heard)  # type: ignore[union-attr]
            state = page.locator("#interview-state").inner_text()
            if "is complete" in state:
                result["completed"] = True
                break
            if "question 2 of 3" in state and not result["reconnected"]:
                page.locator("#voice button", has_text="Stop").first.click()
                page.wait_for_timeout(1500)
                page.locator("#voice button", has_text="Record").first.click()
                result["reconnected"] = True
        page.wait_for_timeout(500)
        result["report"] = page.locator("#interview-report").inner_text()
        result["status"] = page.locator("#interview-state").inner_text()
        result["transcript"] = page.locator("#transcript").inner_text()[-1500:]
        page.screenshot(path=str(out / "keyless_voice.png"), full_page=True)
        browser.close()
    print(json.dumps(result))
    return 0 if result["completed"] else 1


if __name__ == "__main__":
    sys.exit(main())
