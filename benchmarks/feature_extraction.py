"""Feature extraction over a corpus: time, times real time, cache size.

For each feature kind (default ``lowlevel``, ``opensmile`` and
``soundnet8:conv5``) into an empty cache: the set-up (building the network,
or fitting a PCA on the training split), extracting and caching every
recording (cold), and reading everything back from the cache (warm); then
the cache's size on disk. Fitted kinds run once per ``--workers`` count
(processes computing their descriptors).

Run: ``python benchmarks/feature_extraction.py [CORPUS_DIR]``. Without a
corpus directory it builds the default corpus
(``sed.corpora.make_default_corpus``, ``--minutes``) in a temporary folder. Writes
``benchmarks/results/feature_extraction.json`` (with provenance) and prints a
Markdown table.
"""

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).parent))

import soundfile  # noqa: E402

from provenance import provenance, write_result  # noqa: E402
from sed.cache import FeatureCache  # noqa: E402
from sed.features import (FITTED, SPLITS, corpus_paths,  # noqa: E402
                          make_extractor, parse_kind)

OUT = Path(__file__).parent / "results" / "feature_extraction.json"


def _corpus(args, workdir):
    from sed.corpora import load_corpus
    if args.corpus:
        return load_corpus(args.corpus), dict(path=str(args.corpus)), None
    from sed.corpora import make_default_corpus
    root = Path(workdir) / "corpus"
    start = time.perf_counter()
    make_default_corpus(root, minutes=args.minutes, seed=0)
    built = time.perf_counter() - start
    return (load_corpus(root),
            dict(path=None, built_with=f"make_default_corpus(minutes="
                 f"{args.minutes}, seed=0)"), built)


def measure(corpus, kind, cache_root, workers=1):
    """Set-up, cold and warm times and the cache size of one kind."""
    paths = corpus_paths(corpus, None)
    train = corpus_paths(corpus, "train")
    seconds = sum(soundfile.info(str(p)).duration for p in paths)
    cache = FeatureCache(cache_root)
    start = time.perf_counter()
    extractor = make_extractor(kind, fit_paths=train, cache=cache,
                               workers=workers)
    setup = time.perf_counter() - start
    start = time.perf_counter()
    values = cache.features(extractor, paths, progress=True)
    cold = time.perf_counter() - start
    warm_cache = FeatureCache(cache_root)
    start = time.perf_counter()
    warm_cache.features(extractor, paths, progress=False)
    warm = time.perf_counter() - start
    assert warm_cache.misses == 0, "the warm run recomputed features"
    size = cache.size_bytes()
    frames = sum(len(v) for v, _ in values)
    train_s = sum(soundfile.info(str(p)).duration for p in train)
    return dict(kind=kind, workers=workers, recordings=len(paths),
                audio_s=round(seconds, 1),
                dims=int(values[0][0].shape[1]),
                frame_rate_hz=round(frames / seconds, 3),
                setup_s=round(setup, 3), cold_s=round(cold, 3),
                x_real_time=round(seconds / cold, 1),
                setup_s_per_train_hour=round(setup / train_s * 3600, 1),
                cold_s_per_audio_hour=round(cold / seconds * 3600, 1),
                warm_s=round(warm, 3),
                cache_mb=round(size / 2**20, 2),
                cache_mb_per_audio_hour=round(size / 2**20 / seconds * 3600,
                                              1))


def table(rows):
    head = ("| kind | workers | recordings | audio (s) | dims | "
            "frame rate (Hz) | set-up (s) | set-up s per train hour | "
            "extract + cache (s) | s per audio hour | x real time | "
            "read cache (s) | cache (MB) | MB per audio hour |\n"
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:"
            "|---:|")
    lines = [f"| {r['kind']} | {r['workers']} | {r['recordings']} | "
             f"{r['audio_s']:,.0f} | "
             f"{r['dims']} | {r['frame_rate_hz']:.2f} | {r['setup_s']:.2f} | "
             f"{r['setup_s_per_train_hour']:,.0f} | "
             f"{r['cold_s']:.2f} | {r['cold_s_per_audio_hour']:,.0f} | "
             f"{r['x_real_time']:,.0f} | "
             f"{r['warm_s']:.2f} | {r['cache_mb']:.1f} | "
             f"{r['cache_mb_per_audio_hour']:.1f} |" for r in rows]
    return "\n".join([head] + lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("corpus", nargs="?", type=Path,
                        help="a corpus folder (default: build the default "
                             "corpus in a temporary folder)")
    parser.add_argument("--minutes", type=float, default=10,
                        help="size of the default corpus (default 10)")
    parser.add_argument("--kinds", nargs="+",
                        default=["lowlevel", "opensmile", "soundnet8:conv5"])
    parser.add_argument("--workers", nargs="+", type=int, default=[1],
                        help="process counts for the fitted kinds' "
                             "descriptors (default 1)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    workdir = tempfile.mkdtemp(prefix="feature_bench_")
    try:
        corpus, source, built = _corpus(args, workdir)
        splits = {s: len(corpus.files(s)) for s in SPLITS}
        rows = []
        for kind in args.kinds:
            fitted = parse_kind(kind).prefix in FITTED
            for workers in args.workers if fitted else [1]:
                cache_root = (Path(workdir) / "cache"
                              / f"{kind.replace(':', '_')}-{workers}")
                rows.append(measure(corpus, kind, cache_root, workers))
                print(table(rows[-1:]).splitlines()[-1], flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    result = dict(provenance=provenance(),
                  corpus=dict(source, recordings_per_split=splits,
                              build_s=None if built is None
                              else round(built, 2)),
                  notes="cold = extract every recording into an empty cache "
                        "(set-up excluded: network build or PCA fit on the "
                        "train split (which computes the train split's "
                        "descriptors once more); for networks cold includes "
                        "tracing the graph on the first recordings); warm = "
                        "read it all back; x real time = audio seconds / "
                        "cold seconds; audio hashing (sha256) is included",
                  rows=rows)
    write_result(args.out, result, table(rows))


if __name__ == "__main__":
    main()
