"""Compare a query's result with the reference result, ignoring what does not matter.

Rows compare as multisets. Column names and column order do not matter: answer columns are matched to
reference columns by their values. Numbers compare by value with a small tolerance (3 = 3.0 = DECIMAL 3.00),
NULL equals NULL, strings compare exactly, a date equals the same day's midnight timestamp and an ISO date
string. Row order matters only when the reference orders its rows, and then only up to ties on its ORDER BY
keys; with ORDER BY ... LIMIT, rows tied at the cut may be swapped for one another.
"""

from __future__ import annotations

import bisect
import itertools
import operator
from collections import Counter
from collections.abc import Hashable, Iterator
from dataclasses import dataclass, field
from typing import Any

from interview.grading_values import (
    READINGS,
    canon,
    canon_row,
    close,
    coarse,
    compatible,
    kind,
)

_MAX_FUZZY_ROWS = 2_000  # beyond this many differing rows the answer is wrong anyway: skip the tolerance pass
_MAPPING_BUDGET = 200_000  # rows x column assignments tried when several columns hold the same values


@dataclass
class Expected:
    """The reference result on one dataset, with what the order check needs."""

    columns: list[str]
    rows: list[tuple[Any, ...]]
    canon: list[tuple[Hashable, ...]]
    order_required: bool = False
    groups: list[int] | None = None  # order group of each row: rows may come in any order within a group
    alt_groups: list[int] | None = None  # the same with NULL sort keys at the other end
    pools: dict[int, Counter[tuple[Hashable, ...]]] = field(default_factory=dict)  # ties at a LIMIT cut
    order_text: str = ""
    truncated: bool = False  # the reference itself had more rows than the cap
    _signatures: list[Counter[Hashable]] | None = field(default=None, repr=False)
    _kinds: list[str] | None = field(default=None, repr=False)

    def signatures(self) -> list[Counter[Hashable]]:
        if self._signatures is None:
            self._signatures = _signatures(self.canon, len(self.columns))
        return self._signatures

    def kinds(self) -> list[str]:
        if self._kinds is None:
            self._kinds = [kind(list(sig)) for sig in self.signatures()]
        return self._kinds


@dataclass
class Comparison:
    columns: float
    row_count: float
    rows: float
    order: float
    correct: bool
    missing: list[tuple[Any, ...]]  # reference rows the answer lacks (all of them; callers sample)
    extra: list[tuple[Any, ...]]  # answer rows the reference lacks
    mapping: list[int | None]  # reference column -> answer column
    extra_columns: list[str]
    missing_columns: list[str]
    order_ok: bool


def expected_from(
    columns: list[str],
    rows: list[tuple[Any, ...]],
    *,
    keys: list[tuple[Any, ...]] | None = None,
    order: str = "none",
    full_rows: list[tuple[Any, ...]] | None = None,
    full_keys: list[tuple[Any, ...]] | None = None,
    order_text: str = "",
) -> Expected:
    """Build the expected side: order "none", "exact" (row positions) or "keys" (ties on the keys are free).

    With a LIMIT, full_rows/full_keys are the reference without it, used to allow rows tied at the cut.
    """
    canon_rows = [canon_row(row) for row in rows]
    expected = Expected(columns, rows, canon_rows, order_required=order != "none", order_text=order_text)
    if order == "exact":
        expected.groups = list(range(len(rows)))
    elif order == "keys" and keys is not None:
        canon_keys = [tuple(canon(v) for v in key) for key in keys]
        if full_rows is not None and full_keys is not None:
            full_canon_keys = [tuple(canon(v) for v in key) for key in full_keys]
            full_groups = _runs(full_canon_keys)
            group_of = dict(zip(full_canon_keys, full_groups, strict=True))
            if all(k in group_of for k in canon_keys):
                expected.groups = [group_of[k] for k in canon_keys]
                if expected.groups:
                    boundary = {expected.groups[0], expected.groups[-1]}
                    for row, group in zip(full_rows, full_groups, strict=True):
                        if group in boundary:
                            expected.pools.setdefault(group, Counter())[canon_row(row)] += 1
            else:
                expected.groups = list(range(len(rows)))
        else:
            expected.groups = _runs(canon_keys)
            expected.alt_groups = _nulls_moved(canon_keys, expected.groups)
    return expected


def _runs(keys: list[tuple[Hashable, ...]]) -> list[int]:
    groups, current = [], -1
    for i, key in enumerate(keys):
        if i == 0 or key != keys[i - 1]:
            current += 1
        groups.append(current)
    return groups


def _nulls_moved(keys: list[tuple[Hashable, ...]], groups: list[int]) -> list[int] | None:
    """Groups with rows whose first sort key is NULL moved to the other end (engines differ on NULL order)."""
    null = [bool(k) and k[0] is None for k in keys]
    if not any(null) or all(null):
        return None
    first, last = null.index(True), len(null) - 1 - null[::-1].index(True)
    if not all(null[first : last + 1]) or (first != 0 and last != len(null) - 1):
        return None
    top = max(groups) + 1
    if first == 0:  # NULLs first in the reference: also accept them last
        return [g + top if n else g for g, n in zip(groups, null, strict=True)]
    return [g - top if n else g for g, n in zip(groups, null, strict=True)]


def _lnds(sequence: list[int]) -> int:
    """Length of the longest non-decreasing subsequence."""
    tails: list[int] = []
    for x in sequence:
        i = bisect.bisect_right(tails, x)
        if i == len(tails):
            tails.append(x)
        else:
            tails[i] = x
    return len(tails)


@dataclass
class _Match:
    pairs: list[tuple[int, int, int]]  # (answer index, reference index or -1, group) in answer order
    missing: list[int]  # reference row indexes
    extra: list[int]  # answer row indexes


def _project(rows: list[tuple[Hashable, ...]], columns: list[int]) -> list[tuple[Hashable, ...]]:
    """The rows restricted to some columns, in that order (itemgetter does it in C)."""
    width = len(rows[0]) if rows else 0
    if columns == list(range(width)):
        return rows
    if not columns:
        return [() for _ in rows]
    if len(columns) == 1:
        (c,) = columns
        return [(row[c],) for row in rows]
    return list(map(operator.itemgetter(*columns), rows))


def _match(expected: Expected, answer: list[tuple[Hashable, ...]], mapping: list[int | None]) -> _Match:
    """Pair answer rows with reference rows on the mapped columns: exact, then ties at a cut, then tolerance."""
    ref_cols = [j for j, i in enumerate(mapping) if i is not None]
    ans_cols: list[int] = [i for i in mapping if i is not None]
    full = len(ref_cols) == len(mapping)
    index: dict[tuple[Hashable, ...], list[int]] = {}
    for r, key in enumerate(_project(expected.canon, ref_cols)):
        index.setdefault(key, []).append(r)
    for positions in index.values():
        positions.reverse()  # pop() takes the earliest reference row (lowest order group) first
    pairs: list[tuple[int, int, int]] = []
    extra: list[int] = []
    keys = _project(answer, ans_cols)
    groups = expected.groups
    for a, key in enumerate(keys):
        found = index.get(key)
        if found:
            r = found.pop()
            pairs.append((a, r, groups[r] if groups else 0))
        else:
            extra.append(a)
    missing = sorted(r for positions in index.values() for r in positions)
    if extra and missing and full and expected.pools and groups:
        still_extra = []
        for a in extra:
            key = keys[a]
            for group, pool in expected.pools.items():
                taken = sum(1 for p in pairs if p[2] == group and keys[p[0]] == key)
                candidates = [r for r in missing if groups[r] == group]
                if candidates and pool.get(key, 0) > taken:
                    missing.remove(candidates[-1])  # a row tied with it at the LIMIT cut
                    pairs.append((a, -1, group))
                    break
            else:
                still_extra.append(a)
        extra = still_extra
    if extra and missing and min(len(extra), len(missing)) <= _MAX_FUZZY_ROWS:
        # Float noise beyond the canonical rounding: pair rows whose numbers agree to 5 digits, then check closely.
        buckets: dict[Hashable, list[int]] = {}
        ref_keys = _project(expected.canon, ref_cols)
        for r in missing:
            buckets.setdefault(coarse(ref_keys[r]), []).append(r)
        still_extra = []
        for a in extra:
            bucket = buckets.get(coarse(keys[a])) if buckets else None
            match = None
            for r in bucket or ():
                if close(keys[a], ref_keys[r]):
                    match = r
                    break
            if match is None:
                still_extra.append(a)
                continue
            bucket.remove(match)  # type: ignore[union-attr]
            missing.remove(match)
            pairs.append((a, match, groups[match] if groups else 0))
        extra = still_extra
    pairs.sort()
    return _Match(pairs, missing, extra)


def _signatures(rows: list[tuple[Hashable, ...]], width: int) -> list[Counter[Hashable]]:
    return [Counter(row[c] for row in rows) for c in range(width)]


def _mappings(
    expected: Expected,
    answer_columns: list[str],
    answer: list[tuple[Hashable, ...]],
    ans_sigs: list[Counter[Hashable]],
) -> Iterator[list[int | None]]:
    """Column mappings worth trying, best guesses first (lazily: the first perfect one ends the search)."""
    k, m = len(expected.columns), len(answer_columns)
    ref_sigs = expected.signatures()
    # 1. value-identical columns, all injective combinations (bounded)
    candidates = [[i for i in range(m) if ans_sigs[i] == ref_sigs[j]] for j in range(k)]
    if m >= k and all(candidates):
        order = sorted(range(k), key=lambda j: len(candidates[j]))
        budget = max(4, _MAPPING_BUDGET // max(len(answer), len(expected.canon), 1))
        for combo in itertools.islice(itertools.product(*(candidates[j] for j in order)), budget):
            if len(set(combo)) == k:
                mapping: list[int | None] = [None] * k
                for j, i in zip(order, combo, strict=True):
                    mapping[j] = i
                yield mapping
    # 2. greedy by shared distinct values, then names, kinds and positions
    ref_kinds = expected.kinds()
    ans_kinds = [kind(list(s)) for s in ans_sigs]
    scored = []
    for j in range(k):
        ref_values = ref_sigs[j].keys()
        for i in range(m):
            shared = len(ref_values & ans_sigs[i].keys()) / max(len(ref_values), len(ans_sigs[i]), 1)
            same_name = expected.columns[j].lower() == answer_columns[i].lower()
            same_kind = compatible(ref_kinds[j], ans_kinds[i])
            scored.append((shared + 0.3 * same_name + 0.1 * same_kind + 0.05 * (i == j), j, i))
    scored.sort(key=lambda t: (-t[0], t[1], t[2]))
    greedy: list[int | None] = [None] * k
    used: set[int] = set()
    for _, j, i in scored:
        if greedy[j] is None and i not in used:
            greedy[j] = i
            used.add(i)
    yield greedy
    yield [j if j < m else None for j in range(k)]  # by position


def _coerce_columns(
    expected: Expected, answer: list[tuple[Hashable, ...]], width: int
) -> list[tuple[Hashable, ...]]:
    if not answer:
        return answer
    ref_sigs = expected.signatures()
    columns = [list(col) for col in zip(*answer, strict=True)]
    changed = False
    for i in range(width):
        values = columns[i]
        if Counter(values) in ref_sigs:
            continue
        for reading in READINGS.get(kind(values), ()):
            try:
                read = [None if v is None else reading(v) for v in values]
            except ValueError:
                continue
            if Counter(read) in ref_sigs:
                columns[i] = read
                changed = True
                break
    return [tuple(row) for row in zip(*columns, strict=True)] if changed else answer


def compare(
    expected: Expected,
    answer_columns: list[str],
    answer_rows: list[tuple[Any, ...]],
    *,
    truncated: bool = False,
) -> Comparison:
    k, m = len(expected.columns), len(answer_columns)
    answer = [canon_row(row) for row in answer_rows]
    best: tuple[tuple[float, ...], list[int | None], _Match] | None = None
    if m == k:  # fast path: the same columns in the same order
        identity: list[int | None] = list(range(k))
        match = _match(expected, answer, identity)
        if not match.missing and not match.extra:
            best = ((k * len(match.pairs), len(match.pairs), 0), identity, match)
    ans_sigs: list[Counter[Hashable]] = []
    if best is None:
        answer = _coerce_columns(expected, answer, m)
        ans_sigs = _signatures(answer, m)
        seen: set[tuple[int | None, ...]] = set()
        for mapping in _mappings(expected, answer_columns, answer, ans_sigs):
            if tuple(mapping) in seen:
                continue
            seen.add(tuple(mapping))
            match = _match(expected, answer, mapping)
            mapped = sum(i is not None for i in mapping)
            common = len(match.pairs)
            rank = (mapped * common, common, -len(match.extra))
            if best is None or rank > best[0]:
                best = (rank, mapping, match)
            if mapped == k and not match.missing and not match.extra:
                best = (rank, mapping, match)
                break
    assert best is not None
    _, mapping, match = best
    n_ref, n_ans = len(expected.canon), len(answer)
    mapped = sum(i is not None for i in mapping)
    common = len(match.pairs)

    if mapped == k and not match.missing and not match.extra:
        right_columns = k  # every reference column is matched by an answer column holding exactly its values
    else:
        ref_kinds = expected.kinds()
        ans_kinds = [kind(list(sig)) for sig in ans_sigs or _signatures(answer, m)]
        right_columns = sum(
            1 for j, i in enumerate(mapping) if i is not None and compatible(ref_kinds[j], ans_kinds[i])
        )
    columns_score = right_columns / max(k, m) if max(k, m) else 1.0
    row_count = 1.0 if n_ref == n_ans else min(n_ref, n_ans) / max(n_ref, n_ans)
    if truncated:
        row_count = min(row_count, n_ref / (n_ans + 1)) if n_ans else 0.0
    rows_score = 1.0 if n_ref == n_ans == 0 else common / max(n_ref, n_ans)
    if k:
        rows_score *= mapped / k

    order_ok = True
    order_score = 1.0
    if expected.order_required:
        sequence = [g for _, _, g in match.pairs]
        if sequence:
            best_lnds = _lnds(sequence)
            if expected.alt_groups is not None and best_lnds < len(sequence):
                alt = [expected.alt_groups[r] if r >= 0 else g for _, r, g in match.pairs]
                best_lnds = max(best_lnds, _lnds(alt))
            order_score = best_lnds / len(sequence)
        else:
            order_score = 1.0 if n_ref == n_ans == 0 else 0.0
        order_ok = order_score == 1.0

    used = {i for i in mapping if i is not None}
    correct = m == k and mapped == k and not match.missing and not match.extra and order_ok and not truncated
    return Comparison(
        columns=columns_score,
        row_count=row_count,
        rows=rows_score,
        order=order_score,
        correct=correct,
        missing=[expected.rows[r] for r in match.missing],
        extra=[answer_rows[a] for a in match.extra],
        mapping=mapping,
        extra_columns=[answer_columns[i] for i in range(m) if i not in used],
        missing_columns=[expected.columns[j] for j, i in enumerate(mapping) if i is None],
        order_ok=order_ok,
    )
