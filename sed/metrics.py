"""Evaluation: token error rate and DCASE event- and segment-based metrics.

:func:`token_error_rate` is the paper's TER (Table 4): edit distance between
decoded and reference boundary-token sequences, like a word error rate.
:func:`event_metrics` scores timed events with ``sed_eval`` (the DCASE
metrics library): event-based F1 and error rate with DCASE task-4 collars and
with a looser 1 s collar, and segment-based F1 and error rate on 1 s
segments.

Reference: Wang & Metze, Interspeech 2017, Section 3.2 (TER); Mesaros,
Heittola & Virtanen, "Metrics for Polyphonic Sound Event Detection", Applied
Sciences 6(6), 2016 (sed_eval).
"""

import math
import sys
import types

import editdistance
import pandas as pd

#: Event-based settings: name suffix -> (t_collar s, percentage_of_length).
#: ``""``: DCASE task 4 (onset within 200 ms; offset within 200 ms or 20 % of
#: the event's length, whichever is larger). ``"_1s"``: the same rule with a
#: 1 s collar (offset within 1 s or 20 % of the length).
EVENT_SETTINGS = {"": (0.2, 0.2), "_1s": (1.0, 0.2)}

#: Segment length of the segment-based metrics, seconds.
SEGMENT_SECONDS = 1.0

_COLUMNS = ("filename", "onset", "offset", "event_label")


def sed_eval_module():
    """``sed_eval``, imported when first needed.

    sed_eval imports dcase_util, whose ``utils.examples`` imports
    ``pkg_resources`` at load time (only to locate its example files),
    and setuptools 81 and later no longer has it (e.g. a fresh Python 3.12+
    environment, or one where an extra such as torch upgraded setuptools).
    Where ``pkg_resources`` is missing, an empty stand-in is put in
    ``sys.modules`` for that import only and removed afterwards: nothing
    sed_eval's metrics use needs it (``tests/test_sed_metrics.py`` runs
    them, and ``sed-ctc evaluate``, with ``pkg_resources`` blocked).
    """
    if "sed_eval" in sys.modules:
        return sys.modules["sed_eval"]
    import warnings
    with warnings.catch_warnings():
        # their sources' invalid escapes ("\*") warn when compiled (3.12+)
        warnings.simplefilter("ignore", SyntaxWarning)
        return _import_sed_eval()


def _import_sed_eval():
    try:
        import sed_eval
        return sed_eval
    except ModuleNotFoundError as err:
        if err.name != "pkg_resources":
            raise
    for name in [n for n in sys.modules if n.split(".")[0] in
                 ("sed_eval", "dcase_util")]:
        del sys.modules[name]          # the half-imported modules
    blocked = sys.modules.get("pkg_resources", "absent")
    sys.modules["pkg_resources"] = types.ModuleType(
        "pkg_resources", "An empty stand-in: see sed.metrics.sed_eval_module")
    try:
        import sed_eval
    finally:
        if blocked == "absent":
            del sys.modules["pkg_resources"]
        else:
            sys.modules["pkg_resources"] = blocked
    return sed_eval


def score_text(value):
    """A score (a TER, an F1) for a log line: three decimals, ``-`` where
    there is none.

    Example:
        >>> score_text(0.81234), score_text(None)
        ('0.812', '-')
    """
    return "-" if value is None else f"{value:.3f}"


def token_error_rate(references, hypotheses):
    """Token error rate: summed edit distances over summed reference length.

    ``TER = (substitutions + deletions + insertions) / reference tokens``,
    with the minimal (Levenshtein) counts of each pair, as a fraction (it can
    exceed 1 when there are many insertions).

    Args:
        references: a list of token-id sequences (lists or 1-D arrays).
        hypotheses: a list of decoded token-id sequences, one per reference.

    Returns:
        The TER as a float.

    Raises:
        ValueError: when the lists differ in length or the references hold no
            token at all.

    Example:
        >>> token_error_rate([[1, 2, 3, 4], [5, 6]], [[1, 3, 4, 4], [5, 6]])
        0.3333333333333333
    """
    references, hypotheses = list(references), list(hypotheses)
    if len(references) != len(hypotheses):
        raise ValueError(f"{len(references)} references but "
                         f"{len(hypotheses)} hypotheses.")
    total = sum(len(ref) for ref in references)
    if total == 0:
        raise ValueError("The references hold no tokens: the token error "
                         "rate is undefined.")
    errors = sum(editdistance.eval([int(t) for t in ref],
                                   [int(t) for t in hyp])
                 for ref, hyp in zip(references, hypotheses))
    return errors / total


def token_errors(references, hypotheses):
    """Substitutions, deletions and insertions of a minimal alignment of each
    pair, summed, with the token counts.

    Their sum is the summed edit distance: ``TER = (substitutions +
    deletions + insertions) / reference_tokens`` (:func:`token_error_rate`).
    Among minimal alignments, substitutions are preferred to deletions and
    deletions to insertions.

    Returns:
        A dict with ``substitutions``, ``deletions``, ``insertions``,
        ``reference_tokens``, ``decoded_tokens`` (ints) and ``ter`` (None
        without reference tokens).

    Example:
        >>> token_errors([[1, 2, 3, 4], [5, 6]], [[1, 3, 4, 4], [5, 6]])
        {'substitutions': 2, 'deletions': 0, 'insertions': 0, \
'reference_tokens': 6, 'decoded_tokens': 6, 'ter': 0.3333333333333333}
    """
    import numpy as np
    references, hypotheses = list(references), list(hypotheses)
    if len(references) != len(hypotheses):
        raise ValueError(f"{len(references)} references but "
                         f"{len(hypotheses)} hypotheses.")
    counts = dict(substitutions=0, deletions=0, insertions=0,
                  reference_tokens=0, decoded_tokens=0)
    for ref, hyp in zip(references, hypotheses):
        ref, hyp = np.asarray(ref, np.int64), np.asarray(hyp, np.int64)
        n, m = len(ref), len(hyp)
        counts["reference_tokens"] += n
        counts["decoded_tokens"] += m
        # d[i, j]: edit distance of ref[:i] and hyp[:j]; row by row, the
        # insertions' recurrence d[i, j] = min(a_j, d[i, j - 1] + 1) solved
        # as j + cummin(a_k - k)
        d = np.zeros((n + 1, m + 1), np.int64)
        d[0] = np.arange(m + 1)
        cols = np.arange(m + 1)
        for i in range(1, n + 1):
            a = np.empty(m + 1, np.int64)
            a[0] = i
            a[1:] = np.minimum(d[i - 1, 1:] + 1,
                               d[i - 1, :-1] + (hyp != ref[i - 1]))
            d[i] = cols + np.minimum.accumulate(a - cols)
        i, j = n, m
        while i > 0 or j > 0:
            if i > 0 and j > 0 and d[i, j] == d[i - 1, j - 1] + int(
                    ref[i - 1] != hyp[j - 1]):
                counts["substitutions"] += int(ref[i - 1] != hyp[j - 1])
                i, j = i - 1, j - 1
            elif i > 0 and d[i, j] == d[i - 1, j] + 1:
                counts["deletions"] += 1
                i -= 1
            else:
                counts["insertions"] += 1
                j -= 1
    errors = counts["substitutions"] + counts["deletions"] + \
        counts["insertions"]
    counts["ter"] = errors / counts["reference_tokens"] \
        if counts["reference_tokens"] else None
    return counts


def _per_file(events, name):
    """Lists of event dicts (sed_eval's input) per filename."""
    if not isinstance(events, pd.DataFrame):
        raise TypeError(f"{name} must be a DataFrame with columns "
                        f"{list(_COLUMNS)}.")
    missing = set(_COLUMNS) - set(events.columns)
    if missing:
        raise ValueError(f"{name} lacks columns {sorted(missing)}.")
    files = {}
    for row in events.itertuples(index=False):
        files.setdefault(row.filename, []).append(dict(
            filename=row.filename, event_label=row.event_label,
            onset=float(row.onset), offset=float(row.offset)))
    return files


def event_metrics(reference, estimated, classes):
    """Event-based and segment-based F1 and error rate with ``sed_eval``.

    Files are evaluated one by one (as ``sed_eval`` requires) and the counts
    pooled over files (micro-average over events, classes and files). A file
    that appears only in ``estimated`` counts as a file with no reference
    event, so its events are insertions (DCASE task-4 scripts evaluate only
    the files listed in the reference). Each metric object is fed lists of
    dicts with keys ``filename, event_label, onset, offset``, which
    ``sed_eval`` wraps in ``dcase_util.containers.MetaDataContainer``.

    Args:
        reference: DataFrame with columns ``filename, onset, offset,
            event_label`` (seconds), the annotation.
        estimated: DataFrame with the same columns, the system output.
        classes: the event labels to score.

    Returns:
        A dict of fractions. Undefined cases: with no estimated event F1 is
        0 (``sed_eval``'s ``empty_system_output_handling="zero_score"``, as
        DCASE task-4 evaluation code sets it); with no reference event F1
        is NaN and so is the error rate (``sed_eval`` would divide by eps).
        Keys:

        * ``event_f1``, ``event_error_rate``: event-based, DCASE task-4
          settings (``t_collar=0.2``, ``percentage_of_length=0.2``, onset
          and offset evaluated);
        * ``event_f1_1s``, ``event_error_rate_1s``: event-based with
          ``t_collar=1.0``, ``percentage_of_length=0.2``;
        * ``segment_f1_1s``, ``segment_error_rate_1s``: segment-based on
          1 s segments (each file's evaluated length: its last offset).

    Raises:
        ValueError: on missing columns or a label not in ``classes``.

    Example:
        >>> ref = pd.DataFrame({"filename": ["a.wav", "a.wav"],
        ...                     "onset": [1.0, 5.0], "offset": [3.0, 6.0],
        ...                     "event_label": ["dog", "car"]})
        >>> est = ref.iloc[:1].assign(onset=1.1)
        >>> m = event_metrics(ref, est, ["car", "dog"])
        >>> round(m["event_f1"], 3), m["event_error_rate"]
        (0.667, 0.5)
    """
    classes = list(classes)
    ref_files = _per_file(reference, "reference")
    est_files = _per_file(estimated, "estimated")
    for files in (ref_files, est_files):
        for events in files.values():
            unknown = {e["event_label"] for e in events} - set(classes)
            if unknown:
                raise ValueError(f"Labels {sorted(unknown)} are not in "
                                 f"classes {classes}.")
    sed_eval = sed_eval_module()
    event_based = {
        suffix: sed_eval.sound_event.EventBasedMetrics(
            event_label_list=classes, t_collar=float(collar),
            percentage_of_length=float(share),
            empty_system_output_handling="zero_score")
        for suffix, (collar, share) in EVENT_SETTINGS.items()}
    segment_based = sed_eval.sound_event.SegmentBasedMetrics(
        event_label_list=classes, time_resolution=float(SEGMENT_SECONDS))
    # its constructor does not take the option; the attribute is what it reads
    segment_based.empty_system_output_handling = "zero_score"
    for name in sorted(set(ref_files) | set(est_files), key=str):
        ref, est = ref_files.get(name, []), est_files.get(name, [])
        for metric in (*event_based.values(), segment_based):
            metric.evaluate(ref, est)
    result = {}
    named = [(f"event_{{}}{suffix}", metric)
             for suffix, metric in event_based.items()]
    for key, metric in named + [("segment_{}_1s", segment_based)]:
        overall = metric.results_overall_metrics()
        result[key.format("f1")] = float(overall["f_measure"]["f_measure"])
        result[key.format("error_rate")] = (
            float(overall["error_rate"]["error_rate"])
            if metric.overall["Nref"] > 0 else math.nan)
    return result
