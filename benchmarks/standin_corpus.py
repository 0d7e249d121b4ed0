"""Download size and time, build time and disk size of the stand-in corpus.

Fetches the packages of a tier (:mod:`sed.corpora.debian`: ``apt-get
download`` and unpacking) into a fresh cache folder, timing each package,
then builds the stand-in corpus (:func:`sed.corpora.make_standin_corpus`;
default: full size, 9.6 h, 464 recordings) from that cache and validates it
with :func:`sed.corpora.load_corpus`. Reports per package the ``.deb``
size and the download and unpack times, the build's wall and CPU time, the
size on disk, the polyphony and the material per class and split
(``material.csv``).

Writes a JSON file with provenance (default
``benchmarks/results/standin_corpus.json``) and prints Markdown tables.
Run: ``python benchmarks/standin_corpus.py [--tier full] [--hours 9.6]
[--cache DIR] [--out-dir DIR] [--keep]``.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pandas as pd  # noqa: E402

from provenance import provenance  # noqa: E402
from sed.corpora import SPLITS, load_corpus, make_standin_corpus  # noqa: E402
from sed.corpora import debian  # noqa: E402
from sed.corpora.standin import TIERS  # noqa: E402

OUT = Path(__file__).parent / "results" / "standin_corpus.json"


def disk_bytes(root):
    """Bytes of all files under ``root`` (sizes, not blocks)."""
    return sum(p.stat().st_size for p in Path(root).rglob("*") if p.is_file())


def fetch(packages, cache):
    """Downloads and unpacks each package; one dict of timings each."""
    rows = []
    for package in packages:
        debs = Path(cache) / "debs"
        debs.mkdir(parents=True, exist_ok=True)
        wall = time.perf_counter()
        subprocess.run(["apt-get", "download", "-q", package], cwd=debs,
                       check=True, capture_output=True)
        download_s = time.perf_counter() - wall
        wall = time.perf_counter()
        debian.package_root(package, cache)
        unpack_s = time.perf_counter() - wall
        deb = sorted(debs.glob(f"{package}_*.deb"))[-1]
        rows.append(dict(package=package, deb_mb=round(
            deb.stat().st_size / 1e6, 1), download_s=round(download_s, 1),
            unpack_s=round(unpack_s, 1)))
        print(rows[-1], flush=True)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tier", choices=list(TIERS), default="full")
    parser.add_argument("--hours", type=float, default=9.6)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache", type=Path, default=None,
                        help="an empty cache folder to fetch into (default: "
                        "a temporary one, removed afterwards)")
    parser.add_argument("--out-dir", type=Path, default=None,
                        help="where to build (default: a temporary folder, "
                        "removed afterwards unless --keep)")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)

    cache = args.cache or Path(tempfile.mkdtemp(prefix="debian_cache_"))
    folder = args.out_dir or Path(tempfile.mkdtemp(prefix="standin_"))
    try:
        wall = time.perf_counter()
        packages = fetch(TIERS[args.tier], cache)
        fetch_s = time.perf_counter() - wall
        cache_bytes = disk_bytes(cache)
        wall, cpu = time.perf_counter(), time.process_time()
        make_standin_corpus(folder, hours=args.hours, seed=args.seed,
                            tier=args.tier, cache=cache, overwrite=True,
                            progress=False)
        build_s = time.perf_counter() - wall
        build_cpu_s = time.process_time() - cpu
        wall = time.perf_counter()
        corpus = load_corpus(folder)
        load_s = time.perf_counter() - wall
        size = disk_bytes(folder)
        meta = corpus.metadata
        material = pd.read_csv(Path(folder) / "material.csv")
    finally:
        if args.cache is None:
            shutil.rmtree(cache, ignore_errors=True)
        if not args.keep and args.out_dir is None:
            shutil.rmtree(folder, ignore_errors=True)

    splits = {s: dict(recordings=len(corpus.files(s)),
                      hours=meta["split_hours"][s],
                      events=int(len(corpus.events(s)))) for s in SPLITS}
    result = dict(
        provenance=provenance(), tier=args.tier, hours=args.hours,
        seed=args.seed, packages=packages, fetch_s=round(fetch_s, 1),
        deb_mb=round(sum(p["deb_mb"] for p in packages), 1),
        cache_bytes=cache_bytes, recordings=len(corpus.files()),
        total_hours=meta["total_hours"], events=int(len(corpus.events())),
        build_s=round(build_s, 2), build_cpu_s=round(build_cpu_s, 2),
        load_validate_s=round(load_s, 2), disk_bytes=size, splits=splits,
        polyphony=meta["polyphony"], parameters=meta["parameters"],
        missing_classes=meta["missing_classes"],
        material=json.loads(material.to_json(orient="records")))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")

    print(pd.DataFrame(packages).to_string(index=False))
    print(f"| stand-in corpus ({args.tier} tier) | value |\n|---|---:|\n"
          f"| packages: .deb download | {result['deb_mb']:.0f} MB |\n"
          f"| fetch (download + unpack) | {fetch_s:.0f} s |\n"
          f"| recordings | {result['recordings']} |\n"
          f"| total | {result['total_hours']:.2f} h |\n"
          + "".join(f"| {s} | {v['recordings']} recordings, "
                    f"{v['hours']:.2f} h, {v['events']} events |\n"
                    for s, v in splits.items())
          + f"| time with >= 1 / >= 2 events active | "
          f"{meta['polyphony']['ge1']:.1%} / "
          f"{meta['polyphony']['ge2']:.1%} |\n"
          f"| build (wall / CPU) | {build_s:.0f} s / {build_cpu_s:.0f} s |\n"
          f"| load + validate | {load_s:.2f} s |\n"
          f"| disk | {size / 2**20:.0f} MiB |\n")
    wide = material.pivot(index="event_label", columns="split",
                          values=["clips", "minutes", "reuse"])
    print(wide.to_string())
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
