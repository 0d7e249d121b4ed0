"""Events <-> boundary tokens: round trips, ordering invariants, edge cases."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from sed.tokens import (BLANK, events_to_tokens, is_onset, nearest_frame,
                        offset_token, onset_token, token_class,
                        tokens_to_events, vocabulary_size)

CLASSES = ["speech", "dog", "car", "music"]


@st.composite
def frame_times_st(draw, min_frames=1, max_frames=60):
    """Strictly increasing, non-uniform frame centres (not only 10 Hz)."""
    n = draw(st.integers(min_frames, max_frames))
    start = draw(st.floats(-1.0, 5.0, allow_nan=False))
    steps = draw(st.lists(st.floats(0.01, 0.5), min_size=n, max_size=n))
    return start + np.cumsum(steps)


@st.composite
def events_on_frames(draw):
    """Per-class non-overlapping events with boundaries on frame centres."""
    times = draw(frame_times_st(min_frames=2))
    n_classes = draw(st.integers(1, len(CLASSES)))
    classes = CLASSES[:n_classes]
    rows = []
    for label in classes:
        marks = sorted(draw(st.lists(st.integers(0, len(times) - 1),
                                     max_size=8)))
        for start, end in zip(marks[0::2], marks[1::2]):
            if start < end:   # adjacent events (end == next start) allowed
                rows.append((label, times[start], times[end]))
    events = pd.DataFrame(rows, columns=["event_label", "onset", "offset"])
    return events, classes, times


def canonical(events, classes):
    order = {label: k for k, label in enumerate(classes)}
    return sorted((row.onset, order[row.event_label], row.offset,
                   row.event_label) for row in events.itertuples())


@settings(max_examples=200, deadline=None)
@given(events_on_frames())
def test_round_trip(case):
    events, classes, times = case
    tokens, frames = events_to_tokens(events, classes, times)
    back = tokens_to_events(tokens, frames, classes, times)
    assert list(back.columns) == ["event_label", "onset", "offset"]
    assert canonical(back, classes) == canonical(events, classes)
    # already in canonical order
    assert [(r[3], r[0], r[2]) for r in canonical(events, classes)] == \
        list(back[["event_label", "onset", "offset"]].itertuples(
            index=False, name=None))


@st.composite
def any_events(draw):
    """Arbitrary events: real-valued times, possibly overlapping, outside."""
    times = draw(frame_times_st())
    rows = []
    for _ in range(draw(st.integers(0, 10))):
        label = draw(st.sampled_from(CLASSES))
        a = draw(st.floats(-2.0, 40.0, allow_nan=False))
        b = draw(st.floats(-2.0, 40.0, allow_nan=False))
        rows.append((label, min(a, b), max(a, b)))
    return rows, times


@settings(max_examples=200, deadline=None)
@given(any_events())
def test_token_invariants(case):
    rows, times = case
    tokens, frames = events_to_tokens(rows, CLASSES, times)
    assert tokens.dtype == np.int64 and frames.dtype == np.int64
    assert tokens.shape == frames.shape
    assert np.all((frames >= 0) & (frames < len(times)))
    assert np.all((tokens >= 1) & (tokens < vocabulary_size(CLASSES)))
    # sorted by (frame, offsets first, class)
    keys = [(f, 0 if not is_onset(t) else 1, token_class(t))
            for t, f in zip(tokens, frames)]
    assert keys == sorted(keys)
    if len(times) > 1:
        assert len(tokens) == 2 * len(rows)
        for k in range(len(CLASSES)):
            assert np.sum(tokens == onset_token(k)) == \
                np.sum(tokens == offset_token(k))
        # every event keeps at least one frame between its boundaries
        back = tokens_to_events(tokens, frames, CLASSES, times)
        assert len(back) == len(rows)
        assert np.all(back.onset < back.offset)
    else:
        assert len(tokens) == 0


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_decoding_any_token_sequence(data):
    times = data.draw(frame_times_st())
    n = data.draw(st.integers(0, 20))
    tokens = data.draw(st.lists(st.integers(0, 2 * len(CLASSES)),
                                min_size=n, max_size=n))
    frames = sorted(data.draw(st.lists(st.integers(0, len(times) - 1),
                                       min_size=n, max_size=n)))
    events = tokens_to_events(tokens, frames, CLASSES, times)
    n_onsets = sum(1 for t in tokens if t != BLANK and t % 2 == 1)
    assert len(events) == n_onsets          # one event per onset
    assert np.all(events.onset <= events.offset)
    assert np.all(events.offset <= times[-1])
    assert set(events.event_label) <= set(CLASSES)


def test_token_ids():
    assert vocabulary_size(CLASSES) == 9
    assert [onset_token(k) for k in range(4)] == [1, 3, 5, 7]
    assert [offset_token(k) for k in range(4)] == [2, 4, 6, 8]
    assert token_class([1, 2, 7, 8]).tolist() == [0, 0, 3, 3]
    assert is_onset([1, 2, 7, 8]).tolist() == [True, False, True, False]


def test_nearest_frame_not_assuming_10hz():
    times = np.array([0.0, 0.032, 0.1, 0.5])   # irregular
    got = nearest_frame([-3.0, 0.015, 0.017, 0.06, 0.3, 0.31, 99.0], times)
    assert got.tolist() == [0, 0, 1, 1, 2, 3, 3]
    # exactly half-way goes to the earlier frame
    assert nearest_frame(0.5, [0.0, 1.0]) == 0
    assert nearest_frame([5.0], [2.0]).tolist() == [0]


def test_dataframe_and_tuples_agree():
    times = np.arange(100) * 0.064 + 0.032   # a 15.6 Hz frame rate
    rows = [("dog", 1.0, 2.5), ("speech", 0.2, 4.0), ("dog", 3.0, 3.3)]
    df = pd.DataFrame(rows, columns=["event_label", "onset", "offset"])
    df["filename"] = "a.wav"          # extra columns are ignored
    a = events_to_tokens(df, CLASSES, times)
    b = events_to_tokens(rows, CLASSES, times)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert a[0].tolist() == [1, 3, 4, 3, 4, 2]
    assert a[1].tolist() == [3, 15, 39, 46, 51, 62]


def test_offset_before_onset_at_same_frame():
    times = np.arange(10, dtype=float)
    tokens, frames = events_to_tokens(
        [("dog", 2, 5), ("dog", 5, 7), ("speech", 5, 6)], CLASSES, times)
    assert tokens.tolist() == [3, 4, 1, 3, 2, 4]
    assert frames.tolist() == [2, 5, 5, 5, 6, 7]


def test_zero_length_events_are_stretched():
    times = np.arange(5, dtype=float)
    tokens, frames = events_to_tokens(
        [("dog", 2.0, 2.1), ("car", 4.0, 4.2), ("speech", 9.0, 9.5)],
        CLASSES, times)
    back = tokens_to_events(tokens, frames, CLASSES, times)
    assert canonical(back, CLASSES) == canonical(pd.DataFrame(
        [("dog", 2.0, 3.0), ("car", 3.0, 4.0), ("speech", 3.0, 4.0)],
        columns=["event_label", "onset", "offset"]), CLASSES)
    # one frame cannot hold an event
    tokens, frames = events_to_tokens([("dog", 0.0, 1.0)], CLASSES, [0.5])
    assert tokens.size == 0 and frames.size == 0


def test_empty():
    tokens, frames = events_to_tokens([], CLASSES, np.arange(3.0))
    assert tokens.shape == (0,) and frames.shape == (0,)
    events = tokens_to_events(tokens, frames, CLASSES, np.arange(3.0))
    assert len(events) == 0
    assert list(events.columns) == ["event_label", "onset", "offset"]
    empty = pd.DataFrame(columns=["onset", "offset", "event_label"])
    assert events_to_tokens(empty, CLASSES, np.arange(3.0))[0].size == 0


def test_unmatched_tokens():
    times = np.arange(10) * 0.5
    # offsets of dog and speech without an onset -> dropped; the onset of
    # dog is never closed -> it ends at the last frame time (4.5 s)
    events = tokens_to_events([4, 2, 3, 0, 1, 2], [0, 1, 2, 3, 4, 6],
                              CLASSES, times)
    assert events.values.tolist() == [["dog", 1.0, 4.5],
                                      ["speech", 2.0, 3.0]]
    # repeated onsets before an offset: one event per onset
    events = tokens_to_events([3, 3, 4, 4], [1, 2, 5, 8], CLASSES, times)
    assert events.values.tolist() == [["dog", 0.5, 2.5], ["dog", 1.0, 2.5]]


def test_tokens_read_in_frame_order():
    times = np.arange(10, dtype=float)
    # unsorted input is put in frame order (stable for equal frames)
    events = tokens_to_events([4, 3], [6, 2], CLASSES, times)
    assert events.values.tolist() == [["dog", 2.0, 6.0]]
    # same frame, offset first: closes nothing, then the onset opens
    events = tokens_to_events([4, 3], [2, 2], CLASSES, times)
    assert events.values.tolist() == [["dog", 2.0, 9.0]]


@pytest.mark.parametrize("call, match", [
    (lambda: events_to_tokens([("cat", 0, 1)], CLASSES, [0, 1]),
     "Unknown event label"),
    (lambda: events_to_tokens([("dog", 2, 1)], CLASSES, [0, 1]),
     "before it starts"),
    (lambda: events_to_tokens([], CLASSES, [1.0, 1.0]),
     "strictly increasing"),
    (lambda: events_to_tokens([], CLASSES, []), "non-empty"),
    (lambda: events_to_tokens(pd.DataFrame({"onset": [0.0]}), CLASSES,
                              [0, 1]), "lacks columns"),
    (lambda: tokens_to_events([1, 2], [0], CLASSES, [0, 1]), "2 tokens"),
    (lambda: tokens_to_events([9], [0], CLASSES, [0, 1]), "Tokens must"),
    (lambda: tokens_to_events([1], [2], CLASSES, [0, 1]), "Frames must"),
])
def test_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()
