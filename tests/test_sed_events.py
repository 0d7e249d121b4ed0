"""Events as data: validation messages, merging, DCASE TSV and TUT .ann I/O."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sed.events import COLUMNS, empty_events, merge_overlaps, read_ann, \
    read_tsv, validate_events, write_ann, write_tsv

HEADER = "filename\tonset\toffset\tevent_label\n"


def frame(rows):
    return pd.DataFrame(rows, columns=COLUMNS)


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------
# Validation.

@pytest.mark.parametrize("row, durations, classes, problem", [
    (("a.wav", 2.0, 1.0, "dog"), None, None,
     "onset 2.0 is not before offset 1.0"),
    (("a.wav", 1.0, 1.0, "dog"), None, None,
     "onset 1.0 is not before offset 1.0"),
    (("a.wav", -0.5, 1.0, "dog"), None, None, "onset -0.5 is negative"),
    (("a.wav", 0.5, 11.0, "dog"), {"a.wav": 10.0}, None,
     "offset 11.0 is beyond the end of the recording (10.0 s)"),
    (("b.wav", 0.5, 1.0, "dog"), {"a.wav": 10.0}, None,
     "recording 'b.wav' is not in the corpus"),
    (("a.wav", 0.5, 1.0, "cow"), None, ["dog", "cat"],
     "unknown event label 'cow'; the classes are ['dog', 'cat']"),
    (("a.wav", np.nan, 1.0, "dog"), None, None,
     "onset is not a finite number"),
    (("a.wav", 0.0, "soon", "dog"), None, None,
     "offset is not a finite number"),
    (("a.wav", 0.0, 1.0, ""), None, None, "the label is empty"),
])
def test_validation_names_source_row_and_problem(row, durations, classes,
                                                 problem):
    good = ("a.wav", 0.0, 1.0, "dog")
    df = frame([good, good, row])
    with pytest.raises(ValueError) as info:
        validate_events(df, durations=durations, classes=classes,
                        source="train.tsv")
    message = str(info.value)
    assert message.startswith("train.tsv, row 2 (")
    assert problem in message


def test_validation_reports_the_first_bad_row_and_passes_good_ones():
    df = frame([("a.wav", 0.0, 1.0, "dog"), ("a.wav", 3.0, 2.0, "dog"),
                ("a.wav", -1.0, 2.0, "cat")])
    with pytest.raises(ValueError, match=r"events, row 1 \("):
        validate_events(df)
    ok = validate_events(df.iloc[[0]], durations={"a.wav": 1.0 + 5e-7},
                         classes=["dog"])
    assert ok["onset"].dtype == np.float64 and len(ok) == 1


def test_offset_tolerance_is_small():
    df = frame([("a.wav", 0.0, 10.000001, "dog")])
    validate_events(df, durations={"a.wav": 10.0})           # within 1e-6
    with pytest.raises(ValueError, match="beyond the end"):
        validate_events(frame([("a.wav", 0.0, 10.00001, "dog")]),
                        durations={"a.wav": 10.0})


def test_missing_column():
    with pytest.raises(ValueError, match=r"x\.tsv: missing column.*offset"):
        validate_events(pd.DataFrame({"filename": ["a"], "onset": [0.0],
                                      "event_label": ["dog"]}),
                        source="x.tsv")


# --------------------------------------------------------------------------
# Merging.

def test_merge_overlaps_touching_nested_and_kept_apart():
    df = frame([
        ("a.wav", 0.0, 1.0, "dog"), ("a.wav", 1.0, 2.0, "dog"),    # touch
        ("a.wav", 1.5, 1.7, "dog"),                                # nested
        ("a.wav", 2.5, 3.0, "dog"),                                # apart
        ("a.wav", 0.5, 2.8, "cat"),            # other label: kept
        ("b.wav", 0.5, 1.5, "dog"),            # other file: kept
    ])
    out = merge_overlaps(df)
    assert out.values.tolist() == [
        ["a.wav", 0.0, 2.0, "dog"], ["a.wav", 0.5, 2.8, "cat"],
        ["a.wav", 2.5, 3.0, "dog"], ["b.wav", 0.5, 1.5, "dog"]]
    assert list(out.index) == [0, 1, 2, 3]
    assert merge_overlaps(empty_events()).empty


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b"]),
                          st.sampled_from(["x", "y"]),
                          st.integers(0, 50), st.integers(1, 20)),
                min_size=1, max_size=25))
def test_merge_overlaps_keeps_the_union_per_label(items):
    df = frame([(f, s / 10, (s + d) / 10, lab) for f, lab, s, d in items])
    out = merge_overlaps(df)

    def cover(events):       # activity on a 0.05 s grid per (file, label)
        grid = {}
        for f, on, off, lab in events[COLUMNS].itertuples(index=False):
            mask = grid.setdefault((f, lab), np.zeros(160, dtype=bool))
            mask[int(round(on * 20)):int(round(off * 20))] = True
        return grid

    before, after = cover(df), cover(out)
    assert before.keys() == after.keys()
    assert all((before[k] == after[k]).all() for k in before)
    for _, rows in out.groupby(["filename", "event_label"]):
        on, off = rows["onset"].to_numpy(), rows["offset"].to_numpy()
        assert (on[1:] > off[:-1]).all()          # neither overlap nor touch


# --------------------------------------------------------------------------
# DCASE TSV.

def test_tsv_round_trip(tmp_path):
    df = frame([("a.wav", 0.1, 0.30000000000000004, "dog barking"),
                ("b/c.wav", 12.345, 59.999, "cat"),
                ("a.wav", 1 / 3, 2 / 3, "dog barking")])
    write_tsv(df, tmp_path / "x.tsv")
    text = (tmp_path / "x.tsv").read_text()
    assert text.startswith(HEADER)
    back = read_tsv(tmp_path / "x.tsv")
    pd.testing.assert_frame_equal(back, df, check_dtype=False)
    assert back["onset"].tolist() == df["onset"].tolist()        # exact


def test_tsv_errors_name_the_file_and_line(tmp_path):
    path = write(tmp_path / "val.tsv", HEADER + "a.wav\t0\t1\tdog\n\n"
                 "a.wav\t2\t1.5\tdog\n")
    with pytest.raises(ValueError) as info:
        read_tsv(path)
    assert str(info.value).startswith(f"{path}, line 4 (a.wav, dog, 2-1.5 s)")
    path = write(tmp_path / "train.tsv", HEADER + "a.wav\t0\t1\tdog\n"
                 "a.wav\t0\t1\tcow\n")
    with pytest.raises(ValueError, match=r"train\.tsv, line 3 .*unknown "
                                         r"event label 'cow'"):
        read_tsv(path, classes=["dog"])
    with pytest.raises(ValueError, match=r"line 2 .*beyond the end"):
        read_tsv(path, durations={"a.wav": 0.5})


def test_tsv_header_missing_file_and_empty_rows(tmp_path):
    path = write(tmp_path / "bad.tsv", "a.wav\t0\t1\tdog\n")
    with pytest.raises(ValueError, match="header lacks"):
        read_tsv(path)
    with pytest.raises(FileNotFoundError, match="nothing.tsv"):
        read_tsv(tmp_path / "nothing.tsv")
    garbage = tmp_path / "garbage.tsv"
    garbage.write_bytes(HEADER.encode() + b"\xff\xfe\x00bin\tary\n")
    with pytest.raises(ValueError, match="garbage.tsv: not a readable "
                       "annotation TSV"):
        read_tsv(garbage)
    ragged = write(tmp_path / "ragged.tsv", HEADER + "a.wav\t0\t1\tdog\tx\ty\n")
    with pytest.raises(ValueError, match="ragged.tsv, line 2"):
        read_tsv(ragged)
    path = write(tmp_path / "weak.tsv", HEADER + "a.wav\t\t\t\n"
                 "b.wav\t0.5\t1\tdog\n")
    assert read_tsv(path).values.tolist() == [["b.wav", 0.5, 1.0, "dog"]]
    assert read_tsv(write(tmp_path / "empty.tsv", HEADER)).empty


def test_validation_after_filtering_names_index_not_line(tmp_path):
    path = write(tmp_path / "t.tsv", HEADER + "a.wav\t0\t1\tdog\n"
                 "a.wav\t1\t2\tcat\n")
    df = read_tsv(path)
    with pytest.raises(ValueError, match=r"t\.tsv, line 3 "):
        validate_events(df, classes=["dog"])
    with pytest.raises(ValueError, match=r"t\.tsv, row 1 "):
        validate_events(df[df["event_label"] == "cat"], classes=["dog"])


# --------------------------------------------------------------------------
# TUT .ann.

def test_ann_forms(tmp_path):
    three = write(tmp_path / "a001.ann", "1.589213\t2.695860\tpeople walking"
                  "\n\n3.0\t4.5\tcar\n")
    df = read_ann(three)
    assert df.values.tolist() == [["a001.wav", 1.589213, 2.69586,
                                   "people walking"],
                                  ["a001.wav", 3.0, 4.5, "car"]]
    assert read_ann(three, filename="x.flac")["filename"].unique() == \
        ["x.flac"]
    meta = write(tmp_path / "meta.txt",
                 "audio/street/a001.wav\tstreet\t1.5\t2.5\tcar\tm\n"
                 "audio/street/a003.wav\tstreet\t0.5\t0.75\tchildren\n"
                 "audio/street/a003.wav\t0.8\t0.9\tcar\n")
    assert read_ann(meta).values.tolist() == [
        ["audio/street/a001.wav", 1.5, 2.5, "car"],
        ["audio/street/a003.wav", 0.5, 0.75, "children"],
        ["audio/street/a003.wav", 0.8, 0.9, "car"]]
    spaces = write(tmp_path / "s.ann", "0.5 1.5 dog barking\n")
    assert read_ann(spaces).values.tolist() == [["s.wav", 0.5, 1.5,
                                                 "dog barking"]]


def test_ann_errors_name_the_file_and_line(tmp_path):
    path = write(tmp_path / "b.ann", "0.5\t1.0\tcar\nhello\n")
    with pytest.raises(ValueError, match=r"b\.ann, line 2: cannot read"):
        read_ann(path)
    path = write(tmp_path / "c.ann", "0.5\t1.0\tcar\n\n2.0\t1.0\tcar\n")
    with pytest.raises(ValueError, match=r"c\.ann, line 3 \(c\.wav, car, "
                                         r"2\.0-1\.0 s\): onset 2\.0 is not"):
        read_ann(path)
    with pytest.raises(ValueError, match="line 1 .*unknown event label"):
        read_ann(write(tmp_path / "d.ann", "0\t1\tbus\n"), classes=["car"])


def test_ann_round_trip_and_one_file_per_ann(tmp_path):
    df = frame([("a001.wav", 0.1, 0.30000000000000004, "people walking"),
                ("a001.wav", 2 / 3, 5.0, "car")])
    write_ann(df, tmp_path / "a001.ann")
    assert (tmp_path / "a001.ann").read_text().splitlines()[1] == \
        f"{2 / 3!r}\t5.0\tcar"
    back = read_ann(tmp_path / "a001.ann")
    pd.testing.assert_frame_equal(back, df, check_dtype=False)
    with pytest.raises(ValueError, match="one recording"):
        write_ann(frame([("a.wav", 0, 1, "x"), ("b.wav", 0, 1, "x")]),
                  tmp_path / "two.ann")
