"""Scoring conceptual answers against a rubric: cue semantics, paraphrases, misconceptions, no-answers."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from interview.rubric import MISCONCEPTION_PENALTY, cue_matches, is_no_answer, score_answer, sentences


@dataclass
class Point:
    id: str
    text: str
    weight: float
    cues: list[str]


@dataclass
class Mis:
    id: str
    text: str
    cues: list[str]


KEY_POINTS = [
    Point(
        "inner",
        "An inner join returns only rows with a match in both tables.",
        0.5,
        ["only|just match|matching|matches", "intersection"],
    ),
    Point(
        "left",
        "A left join keeps every row of the left table, with NULLs where nothing matches.",
        0.5,
        ["left all|every|keeps|keep|preserve|retain", "null|nulls unmatched|missing|no"],
    ),
]
MISCONCEPTIONS = [
    Mis("drops", "Believes a left join drops unmatched rows.", ["left drops|removes|discards unmatched"])
]


@pytest.mark.parametrize(
    ("cue", "sentence", "expected"),
    [
        ("only|just match|matching", "it only returns the matching rows", True),
        ("only|just match|matching", "it returns the matching rows", False),  # every slot must match
        ("match", "rows that matched", True),  # prefix stems
        ("match", "a rematch", False),  # prefix of a word, not a substring
        ("left all", "ALL rows from the LEFT table", True),
        ("3 valued", "three valued logic", True),  # number words fold to digits
    ],
)
def test_cue_semantics(cue: str, sentence: str, expected: bool) -> None:
    assert cue_matches(cue, sentences(sentence)[0]) is expected


def test_a_full_paraphrased_answer_makes_every_point() -> None:
    answer = (
        "An inner join just gives you the rows that match on both sides. With a left join you keep all the "
        "rows from the left table, and you get nulls for the columns where there's no match."
    )
    result = score_answer(answer, KEY_POINTS, MISCONCEPTIONS)
    assert result.score == 1.0 and not result.misconceptions
    assert [p.made for p in result.points] == [True, True]
    assert "you get nulls" in (result.points[1].evidence or "")


def test_a_half_answer_gets_half_and_feedback_names_what_is_missing() -> None:
    result = score_answer("An inner join returns only matching rows.", KEY_POINTS, MISCONCEPTIONS)
    assert result.score == 0.5
    assert "Missing: a left join keeps every row" in result.feedback()
    assert "You covered: an inner join returns only rows" in result.feedback()


def test_slots_must_match_within_one_sentence() -> None:
    # "left" and "all" are in different sentences: the point is not made.
    result = score_answer("We join on the left. All good.", KEY_POINTS)
    assert not result.points[1].made


def test_a_misconception_costs_a_penalty_and_is_reported() -> None:
    answer = "An inner join returns only matching rows. A left join drops the unmatched rows."
    result = score_answer(answer, KEY_POINTS, MISCONCEPTIONS)
    assert result.score == pytest.approx(0.5 - MISCONCEPTION_PENALTY)
    assert [m.id for m in result.misconceptions] == ["drops"]
    assert "Watch out" in result.feedback()


@pytest.mark.parametrize(
    "answer", ["I don't know", "no idea, sorry", "Um, I do not know.", "pass", "", "   "]
)
def test_no_answer_scores_zero(answer: str) -> None:
    assert is_no_answer(answer)
    result = score_answer(answer, KEY_POINTS, MISCONCEPTIONS)
    assert result.score == 0.0 and result.no_answer
    assert result.feedback().startswith("No answer was given")


@pytest.mark.parametrize(
    "answer",
    [
        "No, a left join keeps all rows",
        "I know this one: only matching rows",
        "Not sure about the name, but only matching rows come back",
    ],
)
def test_real_answers_are_not_mistaken_for_no_answer(answer: str) -> None:
    assert not is_no_answer(answer)
    assert score_answer(answer, KEY_POINTS).score > 0


def test_unrelated_text_scores_zero() -> None:
    assert (
        score_answer("I like to cook pasta with tomatoes on Sundays.", KEY_POINTS, MISCONCEPTIONS).score
        == 0.0
    )


def test_breakdown_is_json_ready() -> None:
    data = score_answer("only matching rows", KEY_POINTS).to_dict()
    assert data["key_points"][0] == {
        "id": "inner",
        "text": KEY_POINTS[0].text,
        "weight": 0.5,
        "made": True,
        "evidence": "only matching rows",
    }


def test_number_words_fold_the_same_way_in_cues_and_answers() -> None:
    assert cue_matches("one|single row", sentences("exactly 1 row comes back")[0])
    assert cue_matches("1 row", sentences("just one row")[0])


@pytest.mark.parametrize(
    ("answer", "held"),
    [
        ("A left join drops the unmatched rows.", True),
        ("A left join never drops unmatched rows.", False),
        ("A left join drops the unmatched rows, the ones with no match.", True),  # "no" qualifies a noun
        ("A left join doesn't remove the unmatched rows, it keeps them.", False),
        ("A left join doesnt discard unmatched rows", False),  # a transcript without the apostrophe
        ("It is not true that an inner join keeps everything. A left join drops unmatched rows.", True),
        (
            "A left join drops unmatched rows, not the inner join.",
            True,
        ),  # the negation is about something else
        ("I don't think a left join drops the unmatched rows.", False),
    ],
)
def test_a_misconception_denied_in_its_sentence_is_not_held(answer: str, held: bool) -> None:
    result = score_answer(answer, KEY_POINTS, MISCONCEPTIONS)
    assert bool(result.misconceptions) is held


def test_a_misconception_that_is_itself_a_negation_still_counts() -> None:
    order = Mis(
        "order",
        "Believes the column order of a composite index doesn't matter.",
        ["order doesn|doesnt matter"],
    )
    assert score_answer("The column order doesn't matter.", [], [order]).misconceptions
    assert not score_answer("The column order matters a lot.", [], [order]).misconceptions


def test_the_bank_where_vs_having_question_credits_a_denial() -> None:
    from interview.questions import load_bank

    rubric = load_bank().get("agg-where-vs-having").rubric
    assert rubric is not None
    denied = score_answer(
        "WHERE and HAVING are not interchangeable.", rubric.key_points, rubric.misconceptions
    )
    held = score_answer("WHERE and HAVING are interchangeable.", rubric.key_points, rubric.misconceptions)
    assert not denied.misconceptions and [m.id for m in held.misconceptions]
