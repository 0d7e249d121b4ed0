"""Token error rate and sed_eval event/segment metrics on hand-made cases."""

import math

import numpy as np
import pandas as pd
import pytest

from sed.metrics import event_metrics, token_error_rate

CLASSES = ["car", "dog", "speech"]


# ------------------------------------------------------------------ TER

@pytest.mark.parametrize("refs, hyps, expected", [
    ([[1, 2, 3]], [[1, 2, 3]], 0.0),
    ([[1, 2, 3]], [[1, 4, 3]], 1 / 3),            # one substitution
    ([[1, 2, 3]], [[1, 3]], 1 / 3),               # one deletion
    ([[1, 2]], [[1, 5, 2]], 1 / 2),               # one insertion
    ([[1, 2, 3, 4], [5, 6]], [[2, 3, 4, 7, 8], []], 5 / 6),  # D+2I, 2D
    ([[1, 2, 3, 4], [5, 6]], [[1, 3, 4, 4], [5, 6]], 2 / 6),  # D + I
    ([[1]], [[2, 3, 4]], 3.0),                    # S + 2I: above 1
    ([[1, 2], []], [[], [7]], 3 / 2),             # an empty reference row
])
def test_token_error_rate(refs, hyps, expected):
    assert token_error_rate(refs, hyps) == pytest.approx(expected)


def test_token_error_rate_takes_arrays():
    refs = [np.array([1, 2, 3], dtype=np.int64), np.array([4])]
    hyps = [np.array([1, 3], dtype=np.int32), np.array([4, 4])]
    assert token_error_rate(refs, hyps) == pytest.approx(2 / 4)
    assert token_error_rate(iter(refs), iter(hyps)) == pytest.approx(0.5)


@pytest.mark.parametrize("refs, hyps, match", [
    ([[1, 2]], [[1], [2]], "1 references but 2 hypotheses"),
    ([[]], [[1]], "no tokens"),
    ([], [], "no tokens"),
])
def test_token_error_rate_errors(refs, hyps, match):
    with pytest.raises(ValueError, match=match):
        token_error_rate(refs, hyps)


# ------------------------------------------------------- event metrics

def events(*rows):
    return pd.DataFrame(rows, columns=["filename", "onset", "offset",
                                       "event_label"])


REF = events(("a.wav", 1.0, 3.0, "dog"), ("a.wav", 5.0, 6.0, "car"),
             ("b.wav", 0.5, 4.0, "speech"))


def test_perfect_match():
    m = event_metrics(REF, REF.iloc[::-1], CLASSES)
    assert set(m) == {"event_f1", "event_error_rate", "event_f1_1s",
                      "event_error_rate_1s", "segment_f1_1s",
                      "segment_error_rate_1s"}
    for key, value in m.items():
        assert value == pytest.approx(1.0 if "f1" in key else 0.0), key


def test_one_of_two_missed():
    ref, est = REF.iloc[:2], REF.iloc[:1].assign(onset=1.1)
    m = event_metrics(ref, est, CLASSES)
    # events: Ntp 1, Nref 2, Nsys 1 -> P 1, R 1/2, F1 2/3; ER = 1 D / 2
    assert m["event_f1"] == pytest.approx(2 / 3)
    assert m["event_error_rate"] == pytest.approx(0.5)
    assert m["event_f1_1s"] == pytest.approx(2 / 3)
    # 1 s segments: dog active in segments 1, 2 (both); car in 5 (missed)
    assert m["segment_f1_1s"] == pytest.approx(0.8)
    assert m["segment_error_rate_1s"] == pytest.approx(1 / 3)


def test_collars():
    ref = events(("a.wav", 1.0, 3.0, "dog"))
    late = events(("a.wav", 1.5, 3.0, "dog"))  # onset 0.5 s late
    m = event_metrics(ref, late, CLASSES)
    assert m["event_f1"] == 0.0
    assert m["event_error_rate"] == pytest.approx(2.0)   # 1 D + 1 I
    assert m["event_f1_1s"] == 1.0 and m["event_error_rate_1s"] == 0.0
    # offset tolerance: max(collar, 20 % of the 10 s length) = 2 s
    ref = events(("a.wav", 0.0, 10.0, "car"))
    assert event_metrics(ref, events(("a.wav", 0.0, 8.5, "car")),
                         CLASSES)["event_f1"] == 1.0
    m = event_metrics(ref, events(("a.wav", 0.0, 7.5, "car")), CLASSES)
    assert m["event_f1"] == 0.0 and m["event_f1_1s"] == 0.0


def test_wrong_label_and_extra_file():
    est = events(("a.wav", 1.0, 3.0, "dog"), ("c.wav", 0.0, 1.0, "car"))
    m = event_metrics(REF.iloc[:1], est, CLASSES)
    # c.wav has no reference: its event is an insertion
    assert m["event_f1"] == pytest.approx(2 / 3)
    assert m["event_error_rate"] == pytest.approx(1.0)
    m = event_metrics(REF.iloc[:1], REF.iloc[:1].assign(event_label="car"),
                      CLASSES)
    assert m["event_f1"] == 0.0
    assert m["event_error_rate"] == pytest.approx(1.0)   # one substitution


def test_empty_outputs():
    nothing = REF.iloc[:0]
    m = event_metrics(REF, nothing, CLASSES)
    assert m["event_f1"] == 0.0 and m["segment_f1_1s"] == 0.0
    assert m["event_error_rate"] == pytest.approx(1.0)
    m = event_metrics(nothing, REF, CLASSES)
    assert all(math.isnan(v) for v in m.values())


def test_event_metric_errors():
    with pytest.raises(ValueError, match="not in classes"):
        event_metrics(REF, REF, ["car", "dog"])
    with pytest.raises(ValueError, match="lacks columns"):
        event_metrics(REF.drop(columns="filename"), REF, CLASSES)
    with pytest.raises(TypeError, match="DataFrame"):
        event_metrics(REF, REF.to_dict("records"), CLASSES)


def test_token_errors_against_editdistance():
    import editdistance
    from sed.metrics import token_errors
    rng = np.random.default_rng(0)
    refs = [rng.integers(1, 5, rng.integers(0, 30)) for _ in range(40)]
    hyps = [rng.integers(1, 5, rng.integers(0, 30)) for _ in range(40)]
    counts = token_errors(refs, hyps)
    for ref, hyp in zip(refs, hyps):   # each pair's S + D + I is minimal
        one = token_errors([ref], [hyp])
        assert one["substitutions"] + one["deletions"] + one["insertions"] \
            == editdistance.eval(ref.tolist(), hyp.tolist())
        # D - I is fixed by the lengths
        assert one["deletions"] - one["insertions"] == len(ref) - len(hyp)
    assert counts["ter"] == pytest.approx(token_error_rate(refs, hyps))
    assert counts["decoded_tokens"] == sum(len(h) for h in hyps)
    assert token_errors([[1, 2]], [[]])["deletions"] == 2
    assert token_errors([[]], [[3]]) == dict(
        substitutions=0, deletions=0, insertions=1, reference_tokens=0,
        decoded_tokens=1, ter=None)
