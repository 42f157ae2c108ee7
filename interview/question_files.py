"""Reading and validating the question bank's files (data/questions/*.yaml): every problem is collected and named
by file and question, so one run of `python -m interview.questions --check` reports them all.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from interview.practice import VISIBLE_DATASET, dataset_names
from interview.questions import (
    CATEGORIES,
    DIFFICULTIES,
    KINDS,
    KeyPoint,
    Misconception,
    Question,
    Rubric,
    WrongAnswer,
)

# An id starts with its category's short name: joins-..., win-..., agg-...
ID_PREFIXES = {
    "joins": ("joins", "join"),
    "subqueries": ("subq", "subquery", "subqueries"),
    "window_functions": ("win", "window", "wf"),
    "ctes": ("cte", "ctes"),
    "aggregation": ("agg", "aggregation"),
    "null_handling": ("null", "nulls"),
    "set_operations": ("set", "setops"),
    "indexing_performance": ("idx", "perf", "index", "indexing"),
    "data_modeling": ("model", "modeling", "dm"),
    "transactions": ("tx", "txn", "transactions"),
}
MAX_PROMPT_CHARS = 400  # said aloud: about 25 seconds of speech
MIN_QUESTIONS = 80
_MISSING: Any = object()  # a field absent from the mapping (reported once, as "missing field")
_ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
COMMON_FIELDS = ("id", "difficulty", "kind", "prompt", "follow_ups", "topics")
KIND_FIELDS = {
    "hands_on": ("reference_sql", "datasets", "order_matters", "wrong_answers"),
    "conceptual": ("rubric",),
}
REQUIRED_KIND_FIELDS = {"hands_on": ("reference_sql", "datasets"), "conceptual": ("rubric",)}


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe YAML loader that refuses a key given twice in one mapping (PyYAML keeps the last silently)."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: set[object] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if not isinstance(key, str | int | float | bool | None):
            continue  # an unusual key (a list...): the schema check reports it
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"the key {key!r} appears twice in one mapping", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_bank(folder: Path, datasets_dir: Path | None = None) -> tuple[list[Question], list[str]]:
    """Every valid question in folder/*.yaml and every problem found (file and question named in each)."""
    problems: list[str] = []
    if not folder.is_dir():
        return [], [f"{folder}: the question bank folder does not exist"]
    files = sorted(folder.glob("*.yaml"))
    if not files:
        return [], [f"{folder}: the question bank folder has no .yaml files"]
    known_datasets = set(dataset_names(datasets_dir))
    questions: list[Question] = []
    seen: dict[str, str] = {}
    for path in files:
        for q in _read_file(path, known_datasets, problems):
            if q.id in seen:
                problems.append(f"{path.name}: {q.id}: duplicate id (also in {seen[q.id]})")
                continue
            seen[q.id] = path.name
            questions.append(q)
    return questions, problems


def _read_file(path: Path, known_datasets: set[str], problems: list[str]) -> list[Question]:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)  # noqa: S506 (a safe loader)
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(f"{path.name}: cannot be read: {exc}")
        return []
    except yaml.YAMLError as exc:
        problems.append(f"{path.name}: is not valid YAML: {' '.join(str(exc).split())}")
        return []
    if not isinstance(data, dict):
        problems.append(f"{path.name}: must be a mapping with 'category' and 'questions'")
        return []
    for key in sorted(set(data) - {"category", "questions"}, key=str):
        problems.append(f"{path.name}: unknown top-level field {key!r} (allowed: category, questions)")
    category = data.get("category")
    if category not in CATEGORIES:
        problems.append(f"{path.name}: category {category!r} is not one of {', '.join(CATEGORIES)}")
        return []
    items = data.get("questions")
    if not isinstance(items, list) or not items:
        problems.append(f"{path.name}: 'questions' must be a non-empty list")
        return []
    out = []
    for n, item in enumerate(items, start=1):
        check = _Checker(path.name, category, item, n, known_datasets)
        question = check.question()
        problems.extend(check.problems)
        if question is not None and not check.problems:
            out.append(question)
    return out


class _Checker:
    """Validates one question mapping, collecting problems that name the file and question."""

    def __init__(self, file: str, category: str, item: object, n: int, known_datasets: set[str]) -> None:
        self.file, self.category, self.item, self.known = file, category, item, known_datasets
        qid = item.get("id") if isinstance(item, dict) else None
        self.where = f"{file}: {qid}" if isinstance(qid, str) and qid else f"{file}: question #{n}"
        self.problems: list[str] = []

    def fail(self, message: str) -> None:
        self.problems.append(f"{self.where}: {message}")

    def question(self) -> Question | None:
        item = self.item
        if not isinstance(item, dict):
            self.fail("must be a mapping of fields")
            return None
        kind = item.get("kind")
        if kind not in KINDS:
            self.fail(f"kind {kind!r} is not one of {', '.join(KINDS)}")
            return None
        allowed = COMMON_FIELDS + KIND_FIELDS[kind]
        for key in item:
            if key in allowed:
                continue
            other = next((k for k in KINDS if key in KIND_FIELDS[k]), None)
            self.fail(
                f"field {key!r} is only for {other} questions"
                if other
                else f"unknown field {key!r} (allowed: {', '.join(allowed)})"
            )
        for key in COMMON_FIELDS + REQUIRED_KIND_FIELDS[kind]:
            if key not in item:
                self.fail(f"missing field {key!r}")
        qid = self._id(item.get("id", _MISSING))
        difficulty = item.get("difficulty", _MISSING)
        if difficulty is not _MISSING and difficulty not in DIFFICULTIES:
            self.fail(f"difficulty {difficulty!r} is not one of {', '.join(DIFFICULTIES)}")
        prompt = self._text(item.get("prompt", _MISSING), "prompt", MAX_PROMPT_CHARS)
        if "```" in prompt:
            self.fail("the prompt is said aloud: no code blocks")
        follow_ups = self._texts(item.get("follow_ups", _MISSING), "follow_ups", 1, 2, MAX_PROMPT_CHARS)
        topics = self._texts(item.get("topics", _MISSING), "topics", 1, 12, 60)
        common = dict(
            id=qid,
            category=self.category,
            difficulty=str(difficulty),
            kind=kind,
            prompt=prompt,
            follow_ups=follow_ups,
            topics=topics,
            source=self.file,
        )
        if kind == "conceptual":
            return Question(**common, rubric=self._rubric(item.get("rubric", _MISSING)))
        order_matters = item.get("order_matters")
        if order_matters is not None and not isinstance(order_matters, bool):
            self.fail(f"order_matters must be true or false, not {order_matters!r}")
        return Question(
            **common,
            reference_sql=self._text(item.get("reference_sql", _MISSING), "reference_sql"),
            datasets=self._datasets(item.get("datasets", _MISSING)),
            order_matters=order_matters,
            wrong_answers=self._wrong_answers(item.get("wrong_answers", [])),
        )

    def _id(self, value: object) -> str:
        if value is _MISSING:
            return ""
        if not isinstance(value, str) or not _ID.fullmatch(value):
            self.fail(f"id {value!r} must be kebab-case (lower-case words joined by '-')")
            return str(value)
        prefixes = ID_PREFIXES[self.category]
        if value.split("-", 1)[0] not in prefixes or "-" not in value:
            self.fail(
                f"id must start with the category's short name ({' or '.join(p + '-' for p in prefixes)})"
            )
        return value

    def _text(self, value: object, name: str, limit: int | None = None) -> str:
        if value is _MISSING:
            return ""
        if not isinstance(value, str) or not value.strip():
            if isinstance(value, bool | int | float) or (value is None and "[" in name):
                self.fail(f"{name} must be a string, but YAML read {value!r}: put it in quotes")
            else:
                self.fail(f"{name} must be a non-empty string")
            return ""
        text = value.strip()
        if limit is not None and len(" ".join(text.split())) > limit:
            self.fail(
                f"{name} is {len(' '.join(text.split()))} characters; at most {limit} (it is said aloud)"
            )
        return text

    def _texts(self, value: object, name: str, least: int, most: int, limit: int) -> list[str]:
        if value is _MISSING:
            return []
        if not isinstance(value, list) or not least <= len(value) <= most:
            self.fail(f"{name} must be a list of {least} to {most} strings")
            return []
        return [self._text(v, f"{name}[{i}]", limit) for i, v in enumerate(value)]

    def _datasets(self, value: object) -> list[str]:
        if value is _MISSING:
            return []
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            self.fail("datasets must be a non-empty list of dataset names")
            return []
        for name in value:
            if name not in self.known:
                self.fail(f"unknown dataset {name!r} (known: {', '.join(sorted(self.known)) or 'none'})")
        if len(set(value)) != len(value):
            self.fail("datasets lists a dataset twice")
        if value[0] != VISIBLE_DATASET:
            self.fail(f"the first dataset must be the visible one, {VISIBLE_DATASET!r}")
        return list(value)

    def _wrong_answers(self, value: object) -> list[WrongAnswer]:
        if not isinstance(value, list):
            self.fail("wrong_answers must be a list of {sql, why}")
            return []
        out = []
        for n, entry in enumerate(value, start=1):
            if not isinstance(entry, dict) or set(entry) != {"sql", "why"}:
                self.fail(f"wrong_answers[{n}] must have exactly the fields sql and why")
                continue
            out.append(
                WrongAnswer(
                    self._text(entry["sql"], f"wrong_answers[{n}].sql"),
                    self._text(entry["why"], f"wrong_answers[{n}].why"),
                )
            )
        return out

    def _rubric(self, value: object) -> Rubric | None:
        if value is _MISSING:
            return None
        if not isinstance(value, dict):
            self.fail("rubric must be a mapping with version, key_points and misconceptions")
            return None
        for key in sorted(set(value) - {"version", "key_points", "misconceptions"}, key=str):
            self.fail(f"unknown rubric field {key!r} (allowed: version, key_points, misconceptions)")
        version = value.get("version")
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            self.fail(f"rubric.version must be a whole number from 1, not {version!r}")
        points = value.get("key_points")
        if not isinstance(points, list) or not points:
            self.fail("rubric.key_points must be a non-empty list")
            points = []
        wrongs = value.get("misconceptions", [])
        if not isinstance(wrongs, list):
            self.fail("rubric.misconceptions must be a list")
            wrongs = []
        key_points = [kp for n, p in enumerate(points, 1) if (kp := self._cued(p, f"key_points[{n}]", True))]
        misconceptions = [
            m for n, p in enumerate(wrongs, 1) if (m := self._cued(p, f"misconceptions[{n}]", False))
        ]
        ids = [p.id for p in key_points] + [m.id for m in misconceptions]
        for dup in sorted(i for i, c in Counter(ids).items() if c > 1):
            self.fail(f"rubric id {dup!r} is used twice")
        total = sum(p.weight for p in key_points)
        if key_points and len(key_points) == len(points) and abs(total - 1.0) > 0.01:
            self.fail(f"rubric key point weights add up to {total:g}, not 1")
        return Rubric(
            int(version) if isinstance(version, int) else 0,
            key_points,
            [m for m in misconceptions if isinstance(m, Misconception)],
        )

    def _cued(self, entry: object, name: str, weighted: bool) -> Any:
        fields = {"id", "text", "weight", "cues"} if weighted else {"id", "text", "cues"}
        if not isinstance(entry, dict) or set(entry) != fields:
            self.fail(f"rubric.{name} must have exactly the fields {', '.join(sorted(fields))}")
            return None
        pid = entry["id"]
        if not isinstance(pid, str) or not _ID.fullmatch(pid):
            self.fail(f"rubric.{name}.id {pid!r} must be kebab-case")
        text = self._text(entry["text"], f"rubric.{name}.text")
        cues = entry["cues"]
        if not isinstance(cues, list) or not cues:
            self.fail(f"rubric.{name} ({pid}) has no cues")
            cues = []
        for cue in cues:
            self._cue(cue, f"rubric.{name} ({pid})")
        if not weighted:
            return Misconception(str(pid), text, [str(c) for c in cues])
        weight = entry["weight"]
        if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0 < weight <= 1:
            self.fail(f"rubric.{name} ({pid}) weight must be a number above 0 and at most 1, not {weight!r}")
            weight = 0.0
        return KeyPoint(str(pid), text, float(weight), [str(c) for c in cues])

    def _cue(self, cue: object, name: str) -> None:
        if not isinstance(cue, str) or not cue.split():
            self.fail(f"{name} has an empty cue")
            return
        for slot in cue.lower().split():
            if any(not a for a in slot.split("|")):
                self.fail(f"{name} cue {cue!r}: slot {slot!r} has an empty alternative")


def unmatchable_cues(question: Question) -> list[str]:
    """Problems with cue alternatives the keyless scorer can never match (content check, not schema)."""
    from interview.rubric import cue_matches, sentences

    if question.rubric is None:
        return []
    problems = []
    for kind, items in (
        ("key point", question.rubric.key_points),
        ("misconception", question.rubric.misconceptions),
    ):
        for item in items:
            for cue in item.cues:
                for alt in sorted({a for slot in cue.lower().split() for a in slot.split("|") if a}):
                    words = [w for sentence in sentences(alt) for w in sentence]
                    if not cue_matches(alt, words):
                        problems.append(
                            f"{question.source}: {question.id}: {kind} {item.id} cue {cue!r}: {alt!r} never matches, "
                            f"not even the spoken word itself (the scorer reads it as {' '.join(words) or 'nothing'!r})"
                        )
    return problems
