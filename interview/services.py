"""Builds the interview services from settings: bank, engine. Shared by the app, the CLI and tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from interview.engine import EngineConfig, InterviewEngine
from interview.questions import QuestionBank, load_bank
from settings import Settings
from store import Store


@dataclass
class InterviewServices:
    settings: Settings
    store: Store
    bank: QuestionBank
    engine: InterviewEngine
    # Operations (ops.http) set this to record how long calls to the OpenAI service take: (operation, seconds).
    openai_latency: Callable[[str, float], None] | None = None

    def observe_openai_latency(self, operation: str, seconds: float) -> None:
        if self.openai_latency is not None:
            self.openai_latency(operation, seconds)


def build_interview_services(
    settings: Settings, store: Store, bank: QuestionBank | None = None
) -> InterviewServices:
    bank = bank or load_bank()
    config = EngineConfig(
        max_questions=settings.max_questions,
        max_minutes=settings.max_minutes,
        recent_sessions=settings.recent_sessions,
    )
    return InterviewServices(
        settings=settings, store=store, bank=bank, engine=InterviewEngine(store, bank, config)
    )
