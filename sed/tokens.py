"""Sound events <-> boundary-token sequences, with frame indices.

The CTC-RNN of Wang & Metze (2017, Section 2.1) emits event *boundaries*: its
vocabulary has ``2n + 1`` tokens for ``n`` event types. Here token ``0`` is the
CTC blank, the onset of class ``k`` (0-based, in corpus class order) is
``2k + 1`` and its offset ``2k + 2``.

:func:`events_to_tokens` turns an annotation into the token sequence a CTC
loss trains on, together with the frame of each token (for alignment
hinting). :func:`tokens_to_events` turns a decoded token sequence (for
instance from :func:`sed.ctc.best_path`) back into timed events. Times are
mapped through the feature's own frame centres, so any frame rate works.

Reference: Wang & Metze, "A Transfer Learning Based Feature Extractor for
Polyphonic Sound Event Detection Using Connectionist Temporal
Classification", Interspeech 2017, Section 2.1.
"""

import numpy as np
import pandas as pd

BLANK = 0


def vocabulary_size(classes):
    """The CTC vocabulary size ``2n + 1`` for ``n`` event classes."""
    return 2 * len(classes) + 1


def onset_token(k):
    """The token of the onset of class index ``k`` (0-based)."""
    return 2 * k + 1


def offset_token(k):
    """The token of the offset of class index ``k`` (0-based)."""
    return 2 * k + 2


def token_class(token):
    """The class index of a non-blank token (array-friendly)."""
    return (np.asarray(token) - 1) // 2


def is_onset(token):
    """Whether a non-blank token is an onset (array-friendly)."""
    return np.asarray(token) % 2 == 1


def _check_frame_times(frame_times):
    frame_times = np.asarray(frame_times, dtype=np.float64)
    if frame_times.ndim != 1 or frame_times.size == 0:
        raise ValueError("frame_times must be a non-empty 1-D array. "
                         f"Received shape {frame_times.shape}.")
    if np.any(np.diff(frame_times) <= 0):
        raise ValueError("frame_times must be strictly increasing.")
    return frame_times


def nearest_frame(times, frame_times):
    """Index of the frame whose centre is nearest to each time.

    Times outside the recording map to the first or last frame; a time exactly
    half-way between two centres maps to the earlier frame.

    Args:
        times: seconds, scalar or array.
        frame_times: strictly increasing frame centres in seconds.

    Returns:
        An int array of frame indices with the shape of ``times``.

    Example:
        >>> nearest_frame([0.0, 0.26, 9.0], [0.05, 0.15, 0.25, 0.35]).tolist()
        [0, 2, 3]
    """
    frame_times = _check_frame_times(frame_times)
    times = np.asarray(times, dtype=np.float64)
    if frame_times.size == 1:
        return np.zeros(times.shape, dtype=np.int64)
    right = np.clip(np.searchsorted(frame_times, times), 1,
                    frame_times.size - 1)
    left = right - 1
    take_left = times - frame_times[left] <= frame_times[right] - times
    return np.where(take_left, left, right).astype(np.int64)


def _event_rows(events):
    """(label, onset, offset) rows from a DataFrame or an iterable."""
    if isinstance(events, pd.DataFrame):
        missing = {"onset", "offset", "event_label"} - set(events.columns)
        if missing:
            raise ValueError(f"events lacks columns {sorted(missing)}.")
        return list(zip(events["event_label"], events["onset"],
                        events["offset"]))
    return [tuple(row) for row in events]


def events_to_tokens(events, classes, frame_times):
    """Encode events as boundary tokens and the frames where they occur.

    Each boundary goes to the frame whose centre is nearest (clipped to the
    recording). Tokens are sorted by frame; at the same frame offsets come
    before onsets (so an event may start where another of its class ends),
    then by class index. An event whose onset and offset fall on the same
    frame is stretched to one frame: its offset moves to the next frame, or,
    on the last frame, its onset to the previous one (a one-frame recording
    cannot hold such an event, and it is dropped). Events of one class should
    not overlap: overlapping ones do not survive :func:`tokens_to_events`.

    Args:
        events: a DataFrame with columns ``onset``, ``offset`` (seconds) and
            ``event_label``, or an iterable of ``(label, onset, offset)``.
        classes: the event labels in corpus order; class ``k`` has onset
            token ``2k + 1`` and offset token ``2k + 2``.
        frame_times: the centres of the feature frames in seconds (1-D,
            strictly increasing).

    Returns:
        ``(tokens, frames)``: two int64 arrays of equal length.

    Raises:
        ValueError: on a label not in ``classes``, an offset before its
            onset, or malformed ``frame_times``.

    Example:
        >>> times = np.arange(50) * 0.1   # frame centres of 10 Hz features
        >>> tokens, frames = events_to_tokens(
        ...     [("dog", 0.5, 1.5), ("car", 1.0, 2.0), ("dog", 1.5, 3.0)],
        ...     ["car", "dog"], times)
        >>> tokens.tolist(), frames.tolist()
        ([3, 1, 4, 3, 2, 4], [5, 10, 15, 15, 20, 30])
    """
    frame_times = _check_frame_times(frame_times)
    last = frame_times.size - 1
    index = {label: k for k, label in enumerate(classes)}
    rows = []   # (frame, 0 for offset / 1 for onset, class, token)
    for label, onset, offset in _event_rows(events):
        if label not in index:
            raise ValueError(f"Unknown event label {label!r}; classes are "
                             f"{list(classes)}.")
        if offset < onset:
            raise ValueError(f"Event {label!r} ends ({offset}) before it "
                             f"starts ({onset}).")
        k = index[label]
        start, end = nearest_frame([onset, offset], frame_times)
        if start == end:
            if last == 0:
                continue
            if end < last:
                end += 1
            else:
                start -= 1
        rows.append((start, 1, k, onset_token(k)))
        rows.append((end, 0, k, offset_token(k)))
    rows.sort()
    tokens = np.array([r[3] for r in rows], dtype=np.int64)
    frames = np.array([r[0] for r in rows], dtype=np.int64)
    return tokens, frames


def tokens_to_events(tokens, frames, classes, frame_times):
    """Decode boundary tokens at frames into timed events.

    Tokens are read in order of frame (a stable sort, so tokens on one frame
    keep their given order). Each onset is paired with the next offset of its
    class; the event spans the times of the two frames. Unmatched tokens:

    * an onset with no later offset of its class closes at the end of the
      recording (the last frame time);
    * an offset with no open onset of its class is dropped;
    * several onsets of a class before its next offset each give an event,
      all ending at that offset (so each onset yields exactly one event).

    Blanks (token 0) are ignored.

    Args:
        tokens: token ids (blank 0, onset ``2k + 1``, offset ``2k + 2``).
        frames: the frame index of each token.
        classes: the event labels in corpus order.
        frame_times: the centres of the feature frames in seconds.

    Returns:
        A DataFrame with columns ``event_label``, ``onset``, ``offset``
        (seconds), sorted by onset, then class order, then offset.

    Raises:
        ValueError: on mismatched lengths, a token outside the vocabulary or
            a frame outside ``frame_times``.

    Example:
        >>> times = np.arange(50) * 0.1
        >>> tokens_to_events([3, 1, 4, 3, 2], [5, 10, 15, 15, 20],
        ...                  ["car", "dog"], times).round(2).values.tolist()
        [['dog', 0.5, 1.5], ['car', 1.0, 2.0], ['dog', 1.5, 4.9]]
    """
    frame_times = _check_frame_times(frame_times)
    tokens = np.asarray(tokens, dtype=np.int64).reshape(-1)
    frames = np.asarray(frames, dtype=np.int64).reshape(-1)
    if tokens.shape != frames.shape:
        raise ValueError(f"{tokens.size} tokens but {frames.size} frames.")
    if np.any((tokens < 0) | (tokens >= vocabulary_size(classes))):
        raise ValueError(f"Tokens must lie in [0, {vocabulary_size(classes)})"
                         f" for {len(classes)} classes.")
    if np.any((frames < 0) | (frames >= frame_times.size)):
        raise ValueError(f"Frames must lie in [0, {frame_times.size}).")
    order = np.argsort(frames, kind="stable")
    open_onsets = {}   # class index -> frames of its open onsets
    spans = []         # (onset frame, class, offset frame)
    for token, frame in zip(tokens[order], frames[order]):
        if token == BLANK:
            continue
        k = int(token_class(token))
        if is_onset(token):
            open_onsets.setdefault(k, []).append(frame)
        else:
            spans.extend((start, k, frame) for start in open_onsets.pop(k, []))
    last = frame_times.size - 1
    for k, starts in open_onsets.items():
        spans.extend((start, k, last) for start in starts)
    spans.sort()
    return pd.DataFrame({
        "event_label": pd.Series([classes[k] for _, k, _ in spans],
                                 dtype=object),
        "onset": np.array([frame_times[s] for s, _, _ in spans], dtype=float),
        "offset": np.array([frame_times[e] for _, _, e in spans], dtype=float),
    })
