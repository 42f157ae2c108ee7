"""Trusted DuckDB work on the app database, done in a child process: one JSON request in, one JSON line out.

Why a child: DuckDB's sqlite scanner carries its own copy of SQLite, and two copies of SQLite in one process drop
each other's POSIX locks on the database and its WAL index (see analytics.duck). A child process is protected by
SQLite's ordinary cross-process locking.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from typing import Any

from analytics.duck import DuckSource, scrub
from settings import ROOT


class ChildFailed(RuntimeError):
    """The child did not finish its work; the message says why, with any credentials scrubbed."""

    def __init__(self, message: str, *, timed_out: bool = False):
        super().__init__(message)
        self.timed_out = timed_out


def run_child(
    module: str, source: DuckSource, request: dict[str, Any], *, timeout_s: float
) -> dict[str, Any]:
    """Run `python -m module` with {"source": ..., **request} on stdin; return its reply or raise ChildFailed."""
    payload = json.dumps({"source": source.to_dict(), **request})
    try:
        done = subprocess.run(
            [sys.executable, "-m", module],
            input=payload,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout_s,
        )
    except subprocess.TimeoutExpired:
        raise ChildFailed(f"it took over {timeout_s:g} s", timed_out=True) from None
    lines = done.stdout.strip().splitlines()
    try:
        reply = json.loads(lines[-1]) if lines else {}
    except ValueError:
        reply = {}
    if not reply.get("ok"):
        detail = reply.get("error") or (done.stderr.strip().splitlines() or ["no output"])[-1][:300]
        raise ChildFailed(scrub(str(detail), source))
    return dict(reply)


def child_main(work: Callable[[DuckSource, dict[str, Any]], dict[str, Any]]) -> int:
    """The child's side: read the request, do the work, print {"ok": true, ...} or {"ok": false, "error": ...}."""
    source: DuckSource | None = None
    try:
        request: dict[str, Any] = json.loads(sys.stdin.read())
        source = DuckSource.from_dict(request["source"])
        print(json.dumps({"ok": True, **work(source, request)}))
        return 0
    except Exception as exc:  # report, don't trace: the parent shows the message
        message = " ".join(str(exc).split())[:500] or type(exc).__name__
        if source is not None:
            message = scrub(message, source)
        print(json.dumps({"ok": False, "error": message}))
        return 1
