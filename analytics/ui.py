"""The Analytics and SQL Console tabs (team leads)."""

from __future__ import annotations

import gradio as gr

from analytics.dashboard import build_dashboard
from store import Store, repo


def overview_markdown(store: Store) -> str:
    """What the database holds right now, said plainly."""
    with store.read() as conn:
        c = repo.counts(conn)
    if c["sessions"] == 0:
        return (
            "**No interviews yet.** Charts appear here as soon as the first interview is recorded "
            f"({store.where})."
        )
    return (
        f"**{c['employees']}** employees, **{c['sessions']}** interviews "
        f"(**{c['completed']}** completed, **{c['in_progress']}** in progress), **{c['responses']}** scored answers."
    )


def build_analytics_tab(store: Store) -> gr.Markdown:
    """The Analytics tab (analytics.dashboard): it loads its own data on each page load, for leads only."""
    return build_dashboard(store)


def build_console_tab(store: Store) -> gr.Markdown:
    status = gr.Markdown(
        f"The read-only SQL console runs over {store.where}. " + overview_markdown(store),
        elem_id="console-status",
    )
    return status
