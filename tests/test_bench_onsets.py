"""The WebRTC load benchmark's onset timing (bench/realtime_harness.py): pure functions, no network."""

from __future__ import annotations

import numpy as np
import pytest

from bench.realtime_harness import OnsetDetector, employee_key, match_onsets, rms

LOUD, QUIET = 6000.0, 20.0


@pytest.mark.parametrize(
    ("observations", "onsets"),
    [
        ([], []),
        ([(0.00, QUIET), (0.02, QUIET)], []),
        ([(0.00, QUIET), (0.02, LOUD), (0.04, LOUD), (0.06, LOUD)], [0.02]),  # one burst, one onset
        ([(0.00, LOUD), (0.10, QUIET), (0.20, LOUD)], [0.00]),  # 200 ms after the last loud: too soon
        ([(0.00, LOUD), (0.10, QUIET), (0.30, LOUD)], [0.00, 0.30]),  # quiet long enough
        ([(0.00, LOUD), (0.50, LOUD)], [0.00, 0.50]),  # no observations in between is silence too
        ([(0.00, 499.0), (0.02, 500.0)], [0.02]),  # the threshold is inclusive
    ],
)
def test_onset_detector(observations: list[tuple[float, float]], onsets: list[float]) -> None:
    detector = OnsetDetector(threshold=500.0, quiet_s=0.25)
    assert [t for t, level in observations if detector.feed(t, level)] == onsets


def test_match_onsets_pairs_each_sent_onset_with_the_first_heard_after_it() -> None:
    sent = [("a", 10.0), ("a", 20.0), ("b", 10.5), ("a", 5.0), ("a", 40.0)]
    heard = [("a", 10.12), ("a", 10.5), ("b", 10.52), ("a", 19.9), ("a", 20.08), ("c", 11.0)]
    delays, missed = match_onsets(sent, heard, t0=8.0, t1=30.0)
    assert sorted(np.round(delays, 3)) == [20.0, 80.0, 120.0]  # 5.0 and 40.0 lie outside [t0, t1)
    assert missed == 0


@pytest.mark.parametrize(
    ("heard", "missed"),
    [
        ([], 1),  # never heard
        ([("a", 9.99)], 1),  # heard only before it was sent
        ([("b", 10.1)], 1),  # another connection's onset
        ([("a", 12.5)], 1),  # beyond the 2 s window
        ([("a", 11.0)], 1),  # after the next onset was sent: that one's, not this one's
    ],
)
def test_match_onsets_counts_misses(heard: list[tuple[str, float]], missed: int) -> None:
    delays, got = match_onsets([("a", 10.0), ("a", 10.9)], heard, t0=0.0, t1=10.5)
    assert (delays.size, got) == (0, missed)


def test_rms_and_employee_key() -> None:
    assert rms(np.array([], dtype=np.int16)) == 0.0
    assert rms(np.array([3, -4, 3, -4], dtype=np.int16)) == pytest.approx(12.5**0.5)
    assert rms(np.full(960, -32768, dtype=np.int16)) == 32768.0  # no int16 overflow
    assert (
        employee_key("You are Athena.\nThe candidate is Bench 3 (employee B0003-1). The interview")
        == "B0003-1"
    )
    assert employee_key("No candidate here.") is None
