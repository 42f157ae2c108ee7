"""The Interview tab (candidates)."""

from __future__ import annotations

import gradio as gr

from store import Store, repo


def interview_status(store: Store) -> str:
    with store.read() as conn:
        c = repo.counts(conn)
    if c["sessions"] == 0:
        return "No interviews yet."
    return f"{c['sessions']} interviews recorded so far ({c['completed']} completed)."


def build_interview_tab(store: Store) -> gr.Markdown:
    return gr.Markdown(interview_status(store), elem_id="interview-status")
