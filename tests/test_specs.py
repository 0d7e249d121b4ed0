"""The architecture as data: layer tables and geometry against the paper."""

import numpy as np
import pytest

import soundnet_keras as sk
from numpy_reference import output_length as reference_length

# Table 1 of Wang & Metze (2017) as printed: maps, filter, subsampling,
# frame rate (Hz), receptive field (s). conv8 is printed as "1000 + 401".
# Numbers are kept as printed so each is compared to its printed precision.
PAPER_TABLE1 = {
    "conv1": (16, 64, 2, "11025", "0.0029"),
    "pool1": (16, None, 8, "1378", "0.0035"),
    "conv2": (32, 32, 2, "689", "0.026"),
    "pool2": (32, None, 8, "86", "0.036"),
    "conv3": (64, 16, 2, "43", "0.21"),
    "conv4": (128, 8, 2, "21.5", "0.37"),
    "conv5": (256, 4, 2, "10.8", "0.51"),
    "pool5": (256, None, 4, "2.69", "0.79"),
    "conv6": (512, 4, 2, "1.35", "1.91"),
    "conv7": (1024, 4, 2, "0.67", "4.16"),
    "conv8": (1000 + 401, 4, 2, "0.34", "8.59"),
}


def _agrees(value, printed):
    """Whether ``value`` rounds to the number printed (half a last digit)."""
    decimals = len(printed.split(".")[1]) if "." in printed else 0
    return abs(value - float(printed)) <= 0.5 * 10 ** -decimals + 1e-12


def test_layer_table_columns_and_order():
    table = sk.layer_table("soundnet8")
    assert list(table.columns) == ["layer", "feature_maps", "filter_size",
                                   "subsampling", "frame_rate_hz",
                                   "receptive_field_s"]
    assert list(table.layer) == ["input", "conv1", "pool1", "conv2", "pool2",
                                 "conv3", "conv4", "conv5", "pool5", "conv6",
                                 "conv7", "conv8", "conv8_2"]


def test_layer_table_matches_paper_table1_except_known_errata():
    table = sk.layer_table("soundnet8").set_index("layer")
    mismatches = set()
    for layer, (maps, kernel, sub, rate, field) in PAPER_TABLE1.items():
        row = table.loc[layer]
        computed_maps = row.feature_maps + (table.loc["conv8_2"].feature_maps
                                            if layer == "conv8" else 0)
        assert computed_maps == maps, layer
        assert row.subsampling == sub, layer
        if kernel is not None and row.filter_size != kernel:
            mismatches.add((layer, "filter_size"))
        if not _agrees(row.frame_rate_hz, rate):
            mismatches.add((layer, "frame_rate_hz"))
        if not _agrees(row.receptive_field_s, field):
            mismatches.add((layer, "receptive_field_s"))
    # The two known disagreements, and nothing else: conv8's kernel is 8 in
    # the released weights (so its receptive field is 14.5 s, not 8.59 s),
    # and conv7's receptive field computes to 4.13 s (printed 4.16 s).
    assert mismatches == {("conv8", "filter_size"),
                          ("conv8", "receptive_field_s"),
                          ("conv7", "receptive_field_s")}
    assert table.loc["conv8", "filter_size"] == 8
    assert table.loc["conv7", "receptive_field_s"] == pytest.approx(4.1345,
                                                                    abs=1e-4)
    assert table.loc["conv8", "receptive_field_s"] == pytest.approx(14.537,
                                                                    abs=1e-3)


def test_paper_receptive_field_of_conv8_is_that_of_kernel_4():
    # 8.59 s is what kernel 4 would give: the paper's typo, not ours.
    conv7 = sk.layer_table().set_index("layer").loc["conv7"]
    jump = 22050 / conv7.frame_rate_hz
    field_k4 = (conv7.receptive_field_s * 22050 + 3 * jump) / 22050
    assert field_k4 == pytest.approx(8.59, abs=0.005)


@pytest.mark.parametrize("n", [1, 10, 63, 64, 100, 4095, 22050, 209373,
                               209374, 441000, 441001, 1000003])
def test_output_length_matches_reference(n):
    for layer in sk.FEATURE_LAYERS:
        assert sk.output_length("soundnet8", layer, n) == reference_length(
            n, layer), (n, layer)


def test_twenty_second_clip_frame_counts():
    n = 20 * 22050
    counts = {l: sk.output_length("soundnet8", l, n)
              for l in ("pool5", "conv7", "conv8")}
    assert counts == {"pool5": 54, "conv7": 15, "conv8": 4}


@pytest.mark.parametrize("layer", ["conv1", "pool2", "conv5", "conv8"])
def test_min_samples_is_the_threshold(layer):
    need = sk.min_samples("soundnet8", layer)
    assert sk.output_length("soundnet8", layer, need) == 1
    assert sk.output_length("soundnet8", layer, need - 1) == 0


def test_conv8_needs_about_9_5_seconds():
    assert sk.min_samples("soundnet8", "conv8") / 22050 == pytest.approx(
        9.495, abs=0.001)


def test_frame_times_are_receptive_field_centres():
    table = sk.layer_table().set_index("layer")
    times = sk.frame_times("soundnet8", "conv5", 5)
    assert np.allclose(np.diff(times), 1 / table.loc["conv5", "frame_rate_hz"])
    # conv5 frame 0 spans input [-6432, -6432 + 11294) samples (padding).
    assert times[0] == pytest.approx((-6432 + 11294 / 2) / 22050)


def test_unknown_model_and_layer():
    with pytest.raises(ValueError, match="Known models: .*'soundnet8'"):
        sk.layer_table("soundnet9")
    with pytest.raises(ValueError, match="Unknown layer 'conv9'"):
        sk.output_length("soundnet8", "conv9", 1000)
