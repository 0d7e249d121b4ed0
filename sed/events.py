"""Sound events as data: a validated DataFrame, DCASE TSV and TUT ``.ann`` I/O.

An annotation is a :class:`pandas.DataFrame` with the columns
``filename, onset, offset, event_label`` (:data:`COLUMNS`), times in seconds,
one row per event. :func:`validate_events` checks it (onset < offset, inside
the recording, label in the vocabulary) and names the annotation file and the
line of the first offending row. :func:`merge_overlaps` merges overlapping or
touching events of the same label in the same recording.

File formats:

* DCASE TSV (:func:`read_tsv`, :func:`write_tsv`): a header line
  ``filename<TAB>onset<TAB>offset<TAB>event_label``, then one event per line,
  as in DCASE Task 4. Extra columns are ignored; a row with a file name and
  empty onset, offset and label (DCASE's way of listing a recording without
  events) is dropped.
* TUT ``.ann`` (:func:`read_ann`, :func:`write_ann`), the annotation files of
  TUT Sound Events 2016/2017 (Mesaros et al., EUSIPCO 2016): one event per
  line, tab-separated, no header. Accepted line forms (the ones the TUT
  datasets and their ``meta.txt`` / ``evaluation_setup`` lists use):

  - ``onset  offset  event_label`` (the ``.ann`` files; the file name comes
    from the ``filename`` argument, by default the ``.ann`` name with
    ``.wav``),
  - ``filename  onset  offset  event_label``,
  - ``filename  scene_label  onset  offset  event_label [extra ...]`` (the
    meta lists; extra trailing columns such as TUT 2017's event type ``m``
    are ignored, the scene label is dropped).

  A line without tabs is split on whitespace (onset, offset, then the rest
  as the label). :func:`write_ann` writes the plain 3-column form.

Example:
    >>> events = pd.DataFrame({"filename": ["a.wav", "a.wav", "a.wav"],
    ...                        "onset": [0.5, 1.0, 3.0],
    ...                        "offset": [1.5, 2.0, 4.0],
    ...                        "event_label": ["dog", "dog", "car"]})
    >>> merge_overlaps(events)
      filename  onset  offset event_label
    0    a.wav    0.5     2.0         dog
    1    a.wav    3.0     4.0         car
    >>> validate_events(events, durations={"a.wav": 3.5}, source="a.tsv")
    Traceback (most recent call last):
    ...
    ValueError: a.tsv, row 2 (a.wav, car, 3.0-4.0 s): offset 4.0 is beyond the end of the recording (3.5 s).
"""

import csv
import math
from pathlib import Path

import numpy as np
import pandas as pd

#: The columns of an annotation DataFrame, in order.
COLUMNS = ["filename", "onset", "offset", "event_label"]

#: Slack (seconds) allowed past the end of a recording.
DURATION_TOLERANCE = 1e-6

_TSV_HEADER = "\t".join(COLUMNS)


def empty_events():
    """An annotation DataFrame without rows (the right columns and dtypes).

    Example:
        >>> list(empty_events().columns)
        ['filename', 'onset', 'offset', 'event_label']
    """
    return pd.DataFrame({"filename": pd.Series([], dtype=object),
                         "onset": pd.Series([], dtype=np.float64),
                         "offset": pd.Series([], dtype=np.float64),
                         "event_label": pd.Series([], dtype=object)})


def _row_name(df, position, lines):
    """How an error message names the row at ``position``."""
    if lines is not None:
        return f"line {lines[position]}"
    return f"row {df.index[position]!r}"


def validate_events(df, durations=None, classes=None, source=None):
    """Checks an annotation; returns it with clean dtypes.

    Checks that the four :data:`COLUMNS` exist, that onsets and offsets are
    finite numbers with ``0 <= onset < offset``, that ``offset`` is within
    the recording (``durations[filename]`` plus :data:`DURATION_TOLERANCE`)
    and that every label is in ``classes``.

    Args:
        df: the annotation DataFrame.
        durations: optional dict ``filename -> seconds``; when given, every
            event's file must be in it and end within it.
        classes: optional vocabulary (iterable of labels).
        source: what to call the annotation in messages (normally its file).
            Default: the file a reader of this module recorded in
            ``df.attrs["source"]``, else ``"events"``.

    Returns:
        A copy with ``onset``/``offset`` as float64, ``filename`` and
        ``event_label`` as str, and only the four columns.

    Raises:
        ValueError: for the first violation, naming ``source`` and the row:
            its 1-based line in the file when the frame came from
            :func:`read_tsv` / :func:`read_ann` (and still has their index),
            else its index label.

    Example:
        >>> df = pd.DataFrame({"filename": ["a.wav"], "onset": [2.0],
        ...                    "offset": [1.0], "event_label": ["dog"]})
        >>> validate_events(df, source="train.tsv")
        Traceback (most recent call last):
        ...
        ValueError: train.tsv, row 0 (a.wav, dog, 2.0-1.0 s): onset 2.0 is not before offset 1.0.
    """
    if source is None:
        source = df.attrs.get("source", "events")
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"{source}: missing column(s) {missing}; an "
                         f"annotation needs the columns {COLUMNS}.")
    lines = df.attrs.get("lines")
    if lines is not None and (len(lines) != len(df)
                              or not df.index.equals(pd.RangeIndex(len(df)))):
        lines = None      # rows were filtered or reordered since reading
    onset = pd.to_numeric(df["onset"], errors="coerce").to_numpy(np.float64)
    offset = pd.to_numeric(df["offset"], errors="coerce").to_numpy(np.float64)
    filename = df["filename"].astype(str).to_numpy()
    label = df["event_label"].astype(str).to_numpy()
    known = None if classes is None else set(classes)

    def fail(i, problem):
        raise ValueError(
            f"{source}, {_row_name(df, i, lines)} ({filename[i]}, "
            f"{label[i]}, {df['onset'].iloc[i]}-{df['offset'].iloc[i]} s): "
            f"{problem}")

    bad_empty = df["filename"].isna().to_numpy() | (filename == "") | \
        df["event_label"].isna().to_numpy() | (label == "")
    checks = [
        (bad_empty, lambda i: "the file name or the label is empty."),
        (~np.isfinite(onset), lambda i: "onset is not a finite number."),
        (~np.isfinite(offset), lambda i: "offset is not a finite number."),
        (onset < 0, lambda i: f"onset {onset[i]} is negative."),
        (~(onset < offset), lambda i: f"onset {onset[i]} is not before "
                                      f"offset {offset[i]}."),
    ]
    if known is not None:
        checks.append((~np.isin(label, list(known)),
                       lambda i: f"unknown event label {label[i]!r}; the "
                                 f"classes are {list(classes)}."))
    if durations is not None:
        ends = np.array([durations.get(f, np.nan) for f in filename],
                        dtype=np.float64)
        checks.append((np.isnan(ends), lambda i: f"recording {filename[i]!r}"
                                                 " is not in the corpus."))
        with np.errstate(invalid="ignore"):
            beyond = offset > ends + DURATION_TOLERANCE
        checks.append((beyond, lambda i: f"offset {offset[i]} is beyond the "
                                         f"end of the recording "
                                         f"({ends[i]} s)."))
    first = None
    for bad, message in checks:
        hits = np.flatnonzero(bad)
        if hits.size and (first is None or hits[0] < first[0]):
            first = (hits[0], message)
    if first is not None:
        fail(first[0], first[1](first[0]))
    out = pd.DataFrame({"filename": filename.astype(object),
                        "onset": onset, "offset": offset,
                        "event_label": label.astype(object)},
                       index=df.index)
    out.attrs = dict(df.attrs)
    return out


def merge_overlaps(df):
    """Merges overlapping or touching events of one label in one file.

    Two events of the same ``event_label`` in the same ``filename`` are
    merged into one (earliest onset, latest offset) when the second starts
    at or before the end of the first (``onset <= offset`` of the other:
    touching events merge too, since activity alone cannot tell them apart).
    Events of different labels are never merged: polyphony is kept.

    Args:
        df: an annotation DataFrame.

    Returns:
        A new DataFrame with a fresh index, sorted by filename, onset,
        offset and label.

    Example:
        >>> df = pd.DataFrame({"filename": ["a.wav"] * 3,
        ...                    "onset": [0.0, 1.0, 1.5],
        ...                    "offset": [1.0, 2.0, 1.8],
        ...                    "event_label": ["x", "x", "x"]})
        >>> merge_overlaps(df)
          filename  onset  offset event_label
        0    a.wav    0.0     2.0           x
    """
    if len(df) == 0:
        return empty_events()
    keys = ["filename", "event_label"]
    d = df[COLUMNS].sort_values(keys + ["onset", "offset"], kind="mergesort")
    d = d.reset_index(drop=True)
    reach = d.groupby(keys, sort=False)["offset"].cummax()
    previous = reach.groupby([d["filename"], d["event_label"]],
                             sort=False).shift()
    starts = previous.isna() | (d["onset"] > previous)
    block = starts.cumsum()
    out = d.groupby(block, sort=False).agg(
        filename=("filename", "first"), onset=("onset", "min"),
        offset=("offset", "max"), event_label=("event_label", "first"))
    out = out.sort_values(["filename", "onset", "offset", "event_label"],
                          kind="mergesort")
    return out.reset_index(drop=True)[COLUMNS]


# --------------------------------------------------------------------------
# DCASE TSV.

def read_tsv(path, durations=None, classes=None):
    """Reads a DCASE annotation TSV and validates it.

    Args:
        path: the ``.tsv`` file (header ``filename onset offset event_label``,
            tab-separated).
        durations, classes: optional checks, as in :func:`validate_events`.

    Returns:
        The events (:data:`COLUMNS`), in file order. ``attrs["source"]`` is
        the path and ``attrs["lines"]`` the line number of each row, so a
        later :func:`validate_events` names lines too.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: a missing header column or an invalid row (the message
            names the file and the line).

    Example:
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "train.tsv")
        >>> _ = open(path, "w").write(
        ...     "filename\\tonset\\toffset\\tevent_label\\n"
        ...     "a.wav\\t0.5\\t1.25\\tdog\\n")
        >>> read_tsv(path)
          filename  onset  offset event_label
        0    a.wav    0.5    1.25         dog
        >>> try:
        ...     read_tsv(path, classes=["cat"])
        ... except ValueError as error:
        ...     print(str(error).replace(path, "train.tsv"))
        train.tsv, line 2 (a.wav, dog, 0.5-1.25 s): unknown event label 'dog'; the classes are ['cat'].
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Annotation file not found: {path}")
    try:
        raw = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False,
                          skip_blank_lines=False, quoting=csv.QUOTE_NONE)
    except (pd.errors.ParserError, pd.errors.EmptyDataError,
            UnicodeDecodeError) as err:
        raise ValueError(
            f"{path}: not a readable annotation TSV ({err}); expected "
            "UTF-8 text with the tab-separated header 'filename onset "
            "offset event_label' and four fields per line") from None
    missing = [c for c in COLUMNS if c not in raw.columns]
    if missing:
        raise ValueError(
            f"{path}: the header lacks {missing}. A DCASE annotation TSV "
            f"starts with the line {_TSV_HEADER!r} (tab-separated). "
            f"Found: {list(raw.columns)}")
    raw = raw[COLUMNS]
    lines = np.arange(len(raw)) + 2
    blank = (raw == "").all(axis=1).to_numpy()
    no_events = ((raw["filename"] != "")
                 & (raw[["onset", "offset", "event_label"]] == "").all(axis=1)
                 ).to_numpy()
    keep = ~(blank | no_events)
    raw = raw[keep].reset_index(drop=True)
    raw.attrs = {"source": str(path), "lines": lines[keep].tolist()}
    return validate_events(raw, durations, classes)


def write_tsv(df, path):
    """Writes events as a DCASE annotation TSV (after validating them).

    Times are written at full precision, so :func:`read_tsv` gives back the
    same numbers.

    Example:
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "a.tsv")
        >>> df = pd.DataFrame({"filename": ["a.wav"], "onset": [0.1],
        ...                    "offset": [0.3], "event_label": ["dog"]})
        >>> write_tsv(df, path)
        >>> open(path).read().splitlines()
        ['filename\\tonset\\toffset\\tevent_label', 'a.wav\\t0.1\\t0.3\\tdog']
    """
    df = validate_events(df, source=str(path))
    from soundnet_keras.stores import atomic_file
    with atomic_file(path) as tmp:
        df[COLUMNS].to_csv(tmp, sep="\t", index=False, lineterminator="\n",
                           quoting=csv.QUOTE_NONE)


# --------------------------------------------------------------------------
# TUT .ann files.

def _is_number(text):
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def read_ann(path, filename=None, durations=None, classes=None):
    """Reads a TUT Sound Events ``.ann`` file (or a TUT meta list).

    See the module docstring for the accepted line forms.

    Args:
        path: the file.
        filename: the recording's name for 3-column lines. Default: the
            ``.ann`` file's name with the suffix ``.wav`` (``a001.ann`` ->
            ``a001.wav``). Lines that carry a file name keep their own.
        durations, classes: optional checks, as in :func:`validate_events`.

    Returns:
        The events (:data:`COLUMNS`), in file order, with ``attrs["source"]``
        and ``attrs["lines"]`` as :func:`read_tsv` sets them.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: a line in none of the accepted forms, or an invalid event
            (the message names the file and the line).

    Example:
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "a001.ann")
        >>> _ = open(path, "w").write(
        ...     "1.589213\\t2.695860\\tpeople walking\\n")
        >>> read_ann(path)
           filename     onset   offset     event_label
        0  a001.wav  1.589213  2.69586  people walking
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Annotation file not found: {path}")
    default_name = filename if filename is not None else \
        path.with_suffix(".wav").name
    rows, lines = [], []
    text = path.read_text(encoding="utf-8")
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.rstrip("\r\n").split("\t") if "\t" in line else \
            line.split(None, 2)
        fields = [f.strip() for f in fields]
        if (len(fields) == 3 and _is_number(fields[0])
                and _is_number(fields[1])):
            row = (default_name, fields[0], fields[1], fields[2])
        elif (len(fields) == 4 and _is_number(fields[1])
              and _is_number(fields[2])):
            row = (fields[0], fields[1], fields[2], fields[3])
        elif (len(fields) >= 5 and _is_number(fields[2])
              and _is_number(fields[3])):
            row = (fields[0], fields[2], fields[3], fields[4])
        else:
            raise ValueError(
                f"{path}, line {number}: cannot read {line!r}. Expected "
                "'onset<TAB>offset<TAB>label', 'file<TAB>onset<TAB>offset"
                "<TAB>label' or 'file<TAB>scene<TAB>onset<TAB>offset<TAB>"
                "label[<TAB>...]'.")
        rows.append(row)
        lines.append(number)
    df = pd.DataFrame(rows, columns=COLUMNS) if rows else empty_events()
    df.attrs = {"source": str(path), "lines": lines}
    return validate_events(df, durations, classes)


def write_ann(df, path):
    """Writes one recording's events as a TUT ``.ann`` file.

    The plain 3-column form ``onset<TAB>offset<TAB>event_label``, times at
    full precision.

    Raises:
        ValueError: the events are invalid or belong to more than one file
            (an ``.ann`` file holds one recording).

    Example:
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "a.ann")
        >>> df = pd.DataFrame({"filename": ["a.wav"], "onset": [0.25],
        ...                    "offset": [1.0], "event_label": ["car"]})
        >>> write_ann(df, path)
        >>> open(path).read()
        '0.25\\t1.0\\tcar\\n'
    """
    df = validate_events(df, source=str(path))
    names = df["filename"].unique()
    if len(names) > 1:
        raise ValueError(f"{path}: an .ann file holds the events of one "
                         f"recording; received {len(names)} files "
                         f"({', '.join(map(str, names[:5]))}...).")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for onset, offset, label in zip(df["onset"], df["offset"],
                                        df["event_label"]):
            f.write(f"{float(onset)!r}\t{float(offset)!r}\t{label}\n")


__all__ = ["COLUMNS", "DURATION_TOLERANCE", "empty_events", "merge_overlaps",
           "read_ann", "read_tsv", "validate_events", "write_ann",
           "write_tsv"]
