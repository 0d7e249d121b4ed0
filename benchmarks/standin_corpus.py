"""Time and disk size to build the stand-in corpus (``sed.data``).

Builds the stand-in for the paper's noiseme corpus from the Debian packages'
recordings (default: full size, 9.6 h, 464 recordings), then loads and
validates it with ``sed.data.load_corpus``. Reports the build's wall and CPU
time, the load time, the size on disk, the polyphony and the per-class
summary.

Writes a JSON file with provenance (default
``benchmarks/results/standin_corpus.json``) and prints Markdown tables.
Run: ``python benchmarks/standin_corpus.py [--hours 9.6] [--out-dir DIR]
[--keep]`` (needs ``apt-get install`` of ``sed.data.STANDIN_PACKAGES``).
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pandas as pd  # noqa: E402

from provenance import provenance  # noqa: E402
from sed.data import SPLITS, load_corpus, make_standin_corpus  # noqa: E402

OUT = Path(__file__).parent / "results" / "standin_corpus.json"


def disk_bytes(root):
    """Bytes of all files under ``root`` (sizes, not blocks)."""
    return sum(p.stat().st_size for p in Path(root).rglob("*") if p.is_file())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=9.6)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out-dir", type=Path, default=None,
                        help="where to build (default: a temporary folder, "
                        "removed afterwards unless --keep)")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)

    folder = args.out_dir or Path(tempfile.mkdtemp(prefix="standin_"))
    try:
        wall, cpu = time.perf_counter(), time.process_time()
        make_standin_corpus(folder, hours=args.hours, seed=args.seed,
                            overwrite=True, progress=False)
        build_s = time.perf_counter() - wall
        build_cpu_s = time.process_time() - cpu
        wall = time.perf_counter()
        corpus = load_corpus(folder)
        load_s = time.perf_counter() - wall
        size = disk_bytes(folder)
        audio_size = disk_bytes(Path(folder) / "audio")
        meta = corpus.metadata
        summary = pd.read_csv(Path(folder) / "summary.csv")
    finally:
        if not args.keep and args.out_dir is None:
            shutil.rmtree(folder, ignore_errors=True)

    splits = {s: dict(recordings=len(corpus.files(s)),
                      hours=meta["split_hours"][s],
                      events=int(len(corpus.events(s)))) for s in SPLITS}
    result = dict(
        provenance=provenance(), hours=args.hours, seed=args.seed,
        recordings=len(corpus.files()), total_hours=meta["total_hours"],
        events=int(len(corpus.events())), build_s=round(build_s, 2),
        build_cpu_s=round(build_cpu_s, 2), load_validate_s=round(load_s, 2),
        disk_bytes=size, audio_bytes=audio_size, splits=splits,
        polyphony=meta["polyphony"], parameters=meta["parameters"],
        summary=json.loads(summary.to_json(orient="records")))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")

    print(f"| stand-in corpus | value |\n|---|---:|\n"
          f"| recordings | {result['recordings']} |\n"
          f"| total | {result['total_hours']:.2f} h |\n"
          + "".join(f"| {s} | {v['recordings']} recordings, "
                    f"{v['hours']:.2f} h, {v['events']} events |\n"
                    for s, v in splits.items())
          + f"| events | {result['events']} |\n"
          f"| time with >= 2 events active | "
          f"{meta['polyphony']['ge2']:.1%} |\n"
          f"| time with >= 1 event active | "
          f"{meta['polyphony']['ge1']:.1%} |\n"
          f"| build (wall / CPU) | {build_s:.1f} s / {build_cpu_s:.1f} s |\n"
          f"| load + validate | {load_s:.2f} s |\n"
          f"| disk | {size / 2**20:.0f} MiB |\n")
    columns = ["event_label", "count", "duration_s", "count_train",
               "count_val", "count_test", "material_train_s",
               "material_val_s", "material_test_s"]
    print(summary[columns].to_markdown(index=False)
          if _has_tabulate() else summary[columns].to_string(index=False))
    print(f"\nwrote {args.out}")


def _has_tabulate():
    import importlib.util
    return importlib.util.find_spec("tabulate") is not None


if __name__ == "__main__":
    main()
