"""Scoring a spoken or typed conceptual answer against a question's rubric, with a breakdown a person can check.

Cue semantics (data/questions/*.yaml): a cue is space-separated slots; a slot is `a|b|c` alternatives; a slot
matches when some word of the sentence starts with one of its alternatives; a cue matches when all its slots match
within one sentence. A key point is made when any of its cues matches; a misconception appears likewise, except
where the sentence denies it ("WHERE and HAVING are not interchangeable"): a negation a few words before a word
the cue matched, when the cue itself asks for none, means the candidate does not hold the misconception.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

MISCONCEPTION_PENALTY = 0.15
_WORD = re.compile(r"[a-z0-9_]+(?:'[a-z]+)?")
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?;])\s+|\n+")
# Negations of the verb only: "no" and "none" mostly qualify a noun ("rows with no match") and deny nothing.
_NEGATIONS = frozenset({"not", "never", "cannot", "neither", "nor"})
_NUMBER_WORDS = {
    "zero": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
    "ten": "10",
}
_NO_ANSWER = re.compile(
    r"^(?:(?:um+|uh+|hmm+|well|honestly|sorry|so)[\s,.!]+)*"
    r"(?:i\s+(?:really\s+)?(?:do\s*n[o']?t|dont)\s+know|i\s+have\s+no\s+(?:idea|clue)|no\s+(?:idea|clue)|"
    r"(?:i'?m\s+)?not\s+sure|pass|skip|dunno|don'?t\s+know|i\s+can'?t\s+(?:say|remember|answer(?:\s+that)?))"
    r"(?:[\s,.!]+(?:sorry|really|at\s+all|honestly|to\s+be\s+honest|i'?m\s+afraid|unfortunately|"
    r"the\s+answer|about\s+(?:that|this)|this\s+one|that\s+one))*[\s,.!?]*$",
    re.I,
)


class _Cued(Protocol):
    id: str
    text: str
    cues: Sequence[str]


@dataclass(frozen=True)
class PointResult:
    id: str
    text: str
    weight: float
    made: bool
    evidence: str | None  # the sentence that made the point


@dataclass(frozen=True)
class RubricResult:
    score: float
    points: list[PointResult]
    misconceptions: list[PointResult]
    no_answer: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def made(self) -> list[PointResult]:
        return [p for p in self.points if p.made]

    @property
    def missed(self) -> list[PointResult]:
        return [p for p in self.points if not p.made]

    def feedback(self) -> str:
        """What was right and what was missing, in a few sentences."""
        if self.no_answer:
            return "No answer was given, so no points were scored. " + _missing_sentence(self.missed)
        parts: list[str] = []
        if self.made:
            parts.append("You covered: " + "; ".join(_lower_first(p.text) for p in self.made) + ".")
        else:
            parts.append("The answer did not make any of the key points.")
        if self.missed:
            parts.append(_missing_sentence(self.missed))
        if self.misconceptions:
            parts.append("Watch out: " + "; ".join(_lower_first(m.text) for m in self.misconceptions) + ".")
        return " ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "no_answer": self.no_answer,
            "key_points": [
                {"id": p.id, "text": p.text, "weight": p.weight, "made": p.made, "evidence": p.evidence}
                for p in self.points
            ],
            "misconceptions": [
                {"id": m.id, "text": m.text, "evidence": m.evidence} for m in self.misconceptions
            ],
            "penalty_per_misconception": MISCONCEPTION_PENALTY,
        }


def _lower_first(text: str) -> str:
    text = text.strip().rstrip(".")
    first = text.split(" ", 1)[0]
    if len(first) > 1 and first.isupper():  # an acronym such as NULL or SQL keeps its case
        return text
    return text[:1].lower() + text[1:]


def _missing_sentence(missed: Sequence[PointResult]) -> str:
    if not missed:
        return ""
    return "Missing: " + "; ".join(_lower_first(p.text) for p in missed) + "."


def sentences(answer: str) -> list[list[str]]:
    """The answer as sentences of lower-case words (number words folded to digits)."""
    out: list[list[str]] = []
    for chunk in _SENTENCE_SPLIT.split(answer.lower()):
        words = [_NUMBER_WORDS.get(w, w) for w in _WORD.findall(chunk.replace("’", "'"))]
        if words:
            out.append(words)
    return out


def _slot_matches(slot: str, words: Sequence[str]) -> bool:
    alternatives = [_NUMBER_WORDS.get(a, a) for a in slot.split("|") if a]  # cues fold like the answer
    return any(w.startswith(a) for a in alternatives for w in words)


def cue_matches(cue: str, words: Sequence[str]) -> bool:
    slots = cue.lower().split()
    return bool(slots) and all(_slot_matches(slot, words) for slot in slots)


_CONTRACTIONS = frozenset(
    f"{verb}n't"
    for verb in ("do", "does", "did", "is", "are", "was", "were", "ca", "wo", "would", "should", "could", "has",
                 "have", "had", "must", "need", "ai")
)  # fmt: skip


def is_negation(word: str) -> bool:
    """`not`, `never`, `doesn't`, `doesnt` and the like."""
    return word in _NEGATIONS or word in _CONTRACTIONS or word.replace("nt", "n't", 1) in _CONTRACTIONS


_NEGATION_REACH = 3  # a negation denies the words up to this far after it ("is not really interchangeable")


def _denied(cue: str, words: Sequence[str]) -> bool:
    """The sentence negates what the cue describes: a negation shortly before one of the words the cue matched,
    when the cue asks for no negation itself. "A left join never drops unmatched rows" denies "left drops
    unmatched"; "A left join drops unmatched rows, not the inner join" does not."""
    alternatives = [_NUMBER_WORDS.get(a, a) for slot in cue.lower().split() for a in slot.split("|") if a]
    if any(
        is_negation(alt) or is_negation(alt + "'t") for alt in alternatives
    ):  # "order doesn|doesnt matter"
        return False
    matched = [i for i, w in enumerate(words) if any(w.startswith(a) for a in alternatives)]
    negations = [i for i, w in enumerate(words) if is_negation(w)]
    return any(0 < m - n <= _NEGATION_REACH for n in negations for m in matched)


def find_evidence(
    cues: Sequence[str],
    answer_sentences: Sequence[Sequence[str]],
    raw: Sequence[str],
    *,
    unless_denied: bool = False,
) -> str | None:
    for words, text in zip(answer_sentences, raw, strict=True):
        if any(cue_matches(cue, words) and not (unless_denied and _denied(cue, words)) for cue in cues):
            return text
    return None


def is_no_answer(answer: str) -> bool:
    """True for an empty answer or a plain "I don't know" / "no idea" / "pass"."""
    return not answer.strip() or bool(_NO_ANSWER.match(answer.strip()))


def score_answer(answer: str, key_points: Sequence[Any], misconceptions: Sequence[Any] = ()) -> RubricResult:
    """Score an answer: sum of the weights of the key points made, less a penalty per misconception, in 0..1."""
    raw_sentences = [s.strip() for s in _SENTENCE_SPLIT.split(answer) if s and s.strip()]
    raw_sentences = [s for s in raw_sentences if _WORD.findall(s.lower())]
    answer_sentences = [[w for chunk in sentences(s) for w in chunk] for s in raw_sentences]
    if is_no_answer(answer):
        points = [PointResult(p.id, p.text, float(p.weight), False, None) for p in key_points]
        return RubricResult(score=0.0, points=points, misconceptions=[], no_answer=True)
    points = []
    for p in key_points:
        evidence = find_evidence(p.cues, answer_sentences, raw_sentences)
        points.append(PointResult(p.id, p.text, float(p.weight), evidence is not None, evidence))
    found = []
    for m in misconceptions:
        evidence = find_evidence(m.cues, answer_sentences, raw_sentences, unless_denied=True)
        if evidence is not None:
            found.append(PointResult(m.id, m.text, 0.0, True, evidence))
    total_weight = sum(p.weight for p in points) or 1.0
    raw_score = sum(p.weight for p in points if p.made) / total_weight
    score = max(0.0, min(1.0, raw_score - MISCONCEPTION_PENALTY * len(found)))
    return RubricResult(score=round(score, 3), points=points, misconceptions=found)
