"""The interview domain's errors: messages fit for a person (a candidate, or a model that can correct itself)."""

from __future__ import annotations


class InterviewError(Exception):
    """Base of every error the interview domain raises on purpose; str(exc) is the message to show."""


class InvalidInput(InterviewError):
    """A value given to an interview operation is not acceptable (employee id, score, category, answer...)."""


class SessionNotFound(InterviewError):
    pass


class SessionClosed(InterviewError):
    """The session has ended; nothing more can be recorded in it."""


class QuestionNotAsked(InterviewError):
    """An evaluation names a question that was not asked in this session."""


class AlreadyEvaluated(InterviewError):
    """The question already has an evaluation; each answer is scored once."""


class NothingToReport(InterviewError):
    """A report was asked for before any answer was evaluated."""
