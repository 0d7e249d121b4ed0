"""Table 4's student rows: one kind at a time against one pass per network.

For SN-F (4 rows: pool5, fc1-fc3) and SN-R (7 rows: pool5, gru1-gru3 and
their batch norms), with their default weights, the time to get every row
of a few minutes of real audio into an empty feature cache

* one kind at a time, as the experiments did before: the cache filled
  per kind (:class:`sed.features.SoundNetFeatures`: a network per kind, the
  conv trunk, and for SN-R the recurrent layers, run once per kind);
* in one pass, as ``fill_cache`` does: all the kinds together
  (:class:`sed.features.SoundNetLayers`: one network, one pass per
  recording).

Set-up (building the network(s); the cached networks of the single-kind
path are dropped before each repeat) and extraction (graph tracing
included) are timed apart: at corpus scale the extraction dominates. Both
ways run once, untimed, on the first file first (TensorFlow's start-up). The two
alternate, ``--repeats`` times each (the order swapped every repeat), in one
process, so that load from other processes falls on both alike: on a shared
machine only the ratio means something.

Run: ``python benchmarks/layer_extraction.py [--audio DIR] [--seconds 180]``
(the first recordings of ``DIR``, in name order, up to ``--seconds`` of
audio; default ``data/standin/audio``). Writes
``benchmarks/results/layer_extraction.json`` (with provenance) and prints a
Markdown table.
"""

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).parent))

import soundfile  # noqa: E402

from provenance import provenance, write_result  # noqa: E402
from sed.cache import FeatureCache  # noqa: E402
from sed.features import (SoundNetLayers, make_extractor,  # noqa: E402
                          network)

OUT = Path(__file__).parent / "results" / "layer_extraction.json"
NOTES = ("seconds to get every row of the network into an empty cache: "
         "set-up = building the network(s); extraction = reading, hashing "
         "and running the audio (graph tracing included) and writing the "
         "cache; the two ways alternate in one process (order swapped each "
         "repeat); ratios = one kind at a time / one pass, per repeat "
         "(median, range). On a loaded machine only the ratios mean "
         "something.")
ROWS = {"snf": ["pool5", "fc1", "fc2", "fc3"],
        "snr": ["pool5", "gru1", "gru1_bn", "gru2", "gru2_bn", "gru3",
                "gru3_bn"]}


def recordings(folder, seconds):
    """The first audio files of ``folder`` (name order) up to ``seconds``."""
    paths, total = [], 0.0
    for path in sorted(Path(folder).glob("*.wav")):
        if total >= seconds:
            break
        paths.append(path)
        total += soundfile.info(str(path)).duration
    if not paths:
        raise SystemExit(f"no .wav files in {folder}")
    return paths, total


def one_kind_at_a_time(paths, kinds, cache):
    """``(set-up, extraction)`` seconds, each kind on its own."""
    network._cached_network_extractor.cache_clear()
    setup = extract = 0.0
    for kind in kinds:
        start = time.perf_counter()
        extractor = make_extractor(kind)
        setup += time.perf_counter() - start
        start = time.perf_counter()
        cache.features(extractor, paths, progress=False)
        extract += time.perf_counter() - start
    return setup, extract


def one_pass(paths, kinds, cache):
    """``(set-up, extraction)`` seconds, all the kinds together (what
    ``fill_cache`` does for one network)."""
    start = time.perf_counter()
    extractor = SoundNetLayers(kinds)
    setup = time.perf_counter() - start
    start = time.perf_counter()
    cache.fill(extractor, paths, progress=False)
    return setup, time.perf_counter() - start


WAYS = {"one kind at a time": one_kind_at_a_time, "one pass": one_pass}


def measure(paths, seconds, prefix, repeats, workdir):
    kinds = [f"{prefix}:{layer}" for layer in ROWS[prefix]]
    times = {name: dict(setup=[], extract=[], total=[]) for name in WAYS}
    for name, way in WAYS.items():      # warm-up, untimed: TensorFlow
        way(paths[:1], kinds, FeatureCache(Path(workdir) / "warm-up" / name))
    for repeat in range(repeats):
        order = list(WAYS) if repeat % 2 == 0 else list(WAYS)[::-1]
        for name in order:
            cache_dir = Path(workdir) / f"{prefix}-{repeat}-{order.index(name)}"
            setup, extract = WAYS[name](paths, kinds, FeatureCache(cache_dir))
            shutil.rmtree(cache_dir)
            for key, value in (("setup", setup), ("extract", extract),
                               ("total", setup + extract)):
                times[name][key].append(round(value, 2))
            print(f"{prefix} repeat {repeat + 1}: {name}: set-up "
                  f"{setup:.1f} s, extraction {extract:.1f} s", flush=True)
    one, both = times["one kind at a time"], times["one pass"]

    def ratio(key):
        ratios = [a / b for a, b in zip(one[key], both[key])]
        return dict(median=round(statistics.median(ratios), 2),
                    range=[round(min(ratios), 2), round(max(ratios), 2)])

    return dict(network=prefix, kinds=kinds, audio_s=round(seconds, 1),
                seconds=times,
                median_s={name: {k: round(statistics.median(v), 2)
                                 for k, v in t.items()}
                          for name, t in times.items()},
                ratio_total=ratio("total"), ratio_extract=ratio("extract"))


def table(rows):
    head = ("| network | rows | audio | one kind at a time: total "
            "(extraction) | one pass: total (extraction) | ratio, total | "
            "ratio, extraction |\n|---|---:|---:|---:|---:|---:|---:|")

    def cell(r, name):
        m = r["median_s"][name]
        return f"{m['total']:.1f} s ({m['extract']:.1f} s)"

    def ratio(x):
        return (f"**{x['median']:.2f}** ({x['range'][0]:.2f}-"
                f"{x['range'][1]:.2f})")

    lines = [f"| {r['network']} | {len(r['kinds'])} | {r['audio_s']:.0f} s "
             f"| {cell(r, 'one kind at a time')} | {cell(r, 'one pass')} | "
             f"{ratio(r['ratio_total'])} | {ratio(r['ratio_extract'])} |"
             for r in rows]
    return "\n".join([head] + lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--audio", type=Path,
                        default=Path("data/standin/audio"),
                        help="a folder of .wav files (read only)")
    parser.add_argument("--seconds", type=float, default=180,
                        help="audio to use, from the first files")
    parser.add_argument("--networks", nargs="+", default=["snf", "snr"],
                        choices=sorted(ROWS))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    paths, seconds = recordings(args.audio, args.seconds)
    workdir = tempfile.mkdtemp(prefix="layer_bench_")
    try:
        rows = [measure(paths, seconds, prefix, args.repeats, workdir)
                for prefix in args.networks]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    result = dict(provenance=provenance(),
                  audio=dict(folder=str(args.audio),
                             files=[p.name for p in paths],
                             seconds=round(seconds, 1)),
                  notes=NOTES, rows=rows)
    write_result(args.out, result, table(rows))


if __name__ == "__main__":
    main()
