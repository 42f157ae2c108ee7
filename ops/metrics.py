"""Prometheus metrics for one app: interviews, answer times, database and OpenAI latency, streams, errors.

Each app gets its own registry (tests build many apps in one process). The interview engine is observed by
wrapping its operations on the instance (`observe_engine`), the database through SQLAlchemy's cursor events, so
neither the domain nor the store knows about metrics.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy import event

log = logging.getLogger(__name__)

CONTENT_TYPE = CONTENT_TYPE_LATEST
_DB_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
_ANSWER_BUCKETS = (5, 15, 30, 60, 90, 120, 180, 300, 600, 1200)
_OPENAI_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)


class Metrics:
    """The app's metrics and the set of interviews this process is running (for graceful shutdown)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.sessions_active = Gauge(
            "interview_sessions_active", "Interviews in progress in this process.", registry=r
        )
        self.sessions_completed = Counter(
            "interview_sessions_completed_total",
            "Interviews that ended with a report.",
            ["brain"],
            registry=r,
        )
        self.sessions_started = Counter(
            "interview_sessions_started_total",
            "Interviews started or resumed.",
            ["brain", "resumed"],
            registry=r,
        )
        self.question_response = Histogram(
            "question_response_seconds",
            "Time from a question being asked to its answer being scored.",
            buckets=_ANSWER_BUCKETS,
            registry=r,
        )
        self.openai_latency = Histogram(
            "openai_api_latency_seconds",
            "Latency of OpenAI API operations (connection set-up, responses).",
            ["operation"],
            buckets=_OPENAI_BUCKETS,
            registry=r,
        )
        self.streams_active = Gauge(
            "stream_connections_active",
            "Open streaming connections (WebSocket and server-sent events).",
            ["kind"],
            registry=r,
        )
        self.db_query = Histogram(
            "database_query_duration_seconds",
            "Database statement duration.",
            ["operation"],
            buckets=_DB_BUCKETS,
            registry=r,
        )
        self.errors = Counter("errors_total", "Errors by kind.", ["kind"], registry=r)
        self.http_requests = Counter(
            "http_requests_total",
            "HTTP requests by route group and status class.",
            ["route", "status"],
            registry=r,
        )
        self._lock = threading.Lock()
        self._active: set[int] = set()
        self._asked: OrderedDict[int, float] = OrderedDict()  # question id -> when asked (monotonic)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

    # ---- interviews running here
    def session_open(self, session_id: int) -> None:
        with self._lock:
            self._active.add(session_id)
            self.sessions_active.set(len(self._active))

    def session_closed(self, session_id: int) -> None:
        with self._lock:
            self._active.discard(session_id)
            self.sessions_active.set(len(self._active))

    def active_sessions(self) -> list[int]:
        with self._lock:
            return sorted(self._active)

    def question_asked(self, question_id: int) -> None:
        with self._lock:
            self._asked[question_id] = time.monotonic()
            while len(self._asked) > 10_000:
                self._asked.popitem(last=False)

    def question_scored(self, question_id: int) -> None:
        with self._lock:
            asked = self._asked.pop(question_id, None)
        if asked is not None:
            self.question_response.observe(time.monotonic() - asked)

    def error(self, kind: str) -> None:
        self.errors.labels(kind=kind).inc()


def _wrap(
    engine: Any,
    name: str,
    after: Callable[..., None],
    kind_of_error: Callable[[Exception], str],
    metrics: Metrics,
) -> None:
    original = getattr(engine, name)

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            result = original(*args, **kwargs)
        except Exception as exc:
            metrics.error(kind_of_error(exc))
            raise
        try:
            after(result, *args, **kwargs)
        except Exception:  # metrics must never break an interview
            log.exception("metrics hook failed", extra={"operation": name})
        return result

    setattr(engine, name, wrapper)


def observe_engine(engine: Any, metrics: Metrics) -> None:
    """Count this engine's interviews: started, resumed, interrupted, completed, and answer times."""
    if getattr(engine, "_athena_metrics", None) is metrics:
        return

    def kind(exc: Exception) -> str:
        from interview.errors import InterviewError

        return f"interview.{type(exc).__name__}" if isinstance(exc, InterviewError) else "interview.internal"

    def started(state: Any, *a: Any, **kw: Any) -> None:
        metrics.session_open(state.session_id)
        metrics.sessions_started.labels(brain=kw.get("brain") or "keyless", resumed="false").inc()

    def resumed(state: Any, *a: Any, **kw: Any) -> None:
        metrics.session_open(state.session_id)
        metrics.sessions_started.labels(
            brain=kw.get("brain") or state.brain or "keyless", resumed="true"
        ).inc()

    def abandoned(_: Any, session_id: int, *a: Any, **kw: Any) -> None:
        metrics.session_closed(session_id)

    def asked(question: Any, *a: Any, **kw: Any) -> None:
        metrics.question_asked(question.id)

    def scored(evaluation: Any, *a: Any, **kw: Any) -> None:
        metrics.question_scored(evaluation.question_id)

    def reported(_: Any, session_id: int, *a: Any, **kw: Any) -> None:
        with metrics._lock:
            was_running = session_id in metrics._active
        metrics.session_closed(session_id)
        if was_running:  # a report read again for a finished interview is not a second completion
            state = engine.state(session_id)
            metrics.sessions_completed.labels(brain=state.brain or "unknown").inc()

    _wrap(engine, "start_session", started, kind, metrics)
    _wrap(engine, "resume_session", resumed, kind, metrics)
    _wrap(engine, "abandon", abandoned, kind, metrics)
    _wrap(engine, "log_question_asked", asked, kind, metrics)
    _wrap(engine, "log_response_evaluation", scored, kind, metrics)
    _wrap(engine, "generate_session_report", reported, kind, metrics)
    engine._athena_metrics = metrics


def _operation(statement: str) -> str:
    word = statement.lstrip().split(None, 1)[0].lower() if statement.strip() else ""
    return word if word in ("select", "insert", "update", "delete", "begin", "commit", "pragma") else "other"


def observe_database(sql_engine: Any, metrics: Metrics) -> None:
    """Time every statement the store runs, labelled by its kind (select, insert, ...), and count failures."""
    if getattr(sql_engine, "_athena_metrics", None) is metrics:
        return

    @event.listens_for(sql_engine, "before_cursor_execute")
    def _before(conn: Any, cursor: Any, statement: str, params: Any, context: Any, executemany: bool) -> None:
        conn.info.setdefault("athena_query_start", []).append(time.perf_counter())

    @event.listens_for(sql_engine, "after_cursor_execute")
    def _after(conn: Any, cursor: Any, statement: str, params: Any, context: Any, executemany: bool) -> None:
        starts = conn.info.get("athena_query_start")
        if starts:
            metrics.db_query.labels(operation=_operation(statement)).observe(
                time.perf_counter() - starts.pop()
            )

    @event.listens_for(sql_engine, "handle_error")
    def _error(context: Any) -> None:
        starts = context.connection.info.get("athena_query_start") if context.connection is not None else None
        if starts:
            starts.pop()
        metrics.error("database")

    sql_engine._athena_metrics = metrics
