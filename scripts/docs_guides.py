"""The generated regions of the guides: ``README.md``, ``docs/index.md``,
``docs/detector.md``, ``docs/variants.md`` and ``docs/teaching.md`` (see
``scripts/write_docs.py``; ``docs/development.md`` and ``docs/licence.md``
carry no measured figure).

Every figure comes from a committed results file (``benchmarks/results/``:
the stand-in corpus build, feature extraction, the CTC loss, the paper's
recipe probe), from the students' histories
(``weights/histories/``) or from the code (the specs'
frame rates and receptive fields, the target times, the parameter counts,
``setup.py``). The prose without figures stays in the pages; a region holds
the paragraphs, tables and list items that carry numbers.
"""

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "benchmarks" / "results"
HISTORIES = ROOT / "weights" / "histories"

#: The stand-in corpus's per-class target (the issue that asked for v2):
#: distinct training clips and minutes, and clips in val and in test.
TARGET_CLIPS, TARGET_MINUTES, TARGET_HELD_CLIPS = 20, 2.0, 5
#: The paper's Table 2 as printed, where it differs from the spec
#: (pool5's subsampling and the receptive field that follows from it).
PAPER_TABLE2 = {"pool5": ("4", "0.44 s")}
#: Classes of the stand-in corpus that are not sound effects.
NOT_EFFECTS = ("speech", "music", "background")


# -- helpers -----------------------------------------------------------------

def _json(path):
    return json.loads(Path(path).read_text())


def _result(name):
    return _json(RESULTS / name)


def _history(name):
    return _json(HISTORIES / f"{name}.history.json")


def _best(history):
    return min(history["epochs"], key=lambda row: row["val_kl"])


def _below(row):
    """How far below the constant student a row's validation KL is (%)."""
    return 100 * (1 - row["val_kl"] / row["constant_kl"])


def _wrap(text, width=86, indent=""):
    """``text`` as lines of at most ``width`` characters (longer where a
    word is longer), never breaking inside a code span and never starting
    a line with what Markdown would read as a list marker."""
    text = re.sub(r"(\d) (?=(?:s|ms|h|min|minutes|MB|GB|MiB|KiB|dB|dBFS|Hz|"
                  r"%)[\s,;:.)]|(?:s|ms|h|min|minutes|MB|GB|MiB|KiB|%)$)",
                  "\\1\0", text)
    words, word, ticks = [], "", 0
    for ch in text:
        ticks += ch == "`"
        if ch == " " and ticks % 2 == 0:
            if word:
                words.append(word)
            word = ""
        else:
            word += ch
    words += [word] if word else []
    lines, line = [], ""
    for w in words:
        marker = re.fullmatch(r"\d+[.)]|[-+*>]|#+|\|", w)
        if line and len(indent + line) + 1 + len(w) > width and not marker:
            lines.append(line)
            line = w
        else:
            line = f"{line} {w}" if line else w
    lines.append(line)
    return ("\n" + indent).join(lines).replace("\0", " ")


def _item(text):
    """A Markdown list item, wrapped."""
    return "- " + _wrap(text, indent="  ")


def _join(values, last="and"):
    values = [str(v) for v in values]
    return values[0] if len(values) == 1 else \
        f"{', '.join(values[:-1])} {last} {values[-1]}"


def _seconds(value):
    """A duration in ms below 0.1 s, else in s (Table 2's style)."""
    if value < 0.01:
        return f"{1000 * value:.1f} ms"
    if value < 0.1:
        return f"{1000 * value:.0f} ms"
    return f"{value:.2f} s"


def _sci(value):
    """``3.1e-5`` rather than ``3.1e-05``."""
    return re.sub(r"e([+-])0*(\d)", r"e\1\2", f"{value:.1e}").replace("e+", "e")


def _table(header, rows, align):
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join(align) + "|"]
    return lines + ["| " + " | ".join(map(str, row)) + " |" for row in rows]


# -- README.md, docs/index.md --------------------------------------------------

def setup():
    """The set-up paragraph: Python from ``setup.py``, the stand-in corpus
    from its build (``benchmarks/results/standin_corpus.json``)."""
    python = re.search(r"python_requires=\">=([\d.]+)\"",
                       (ROOT / "setup.py").read_text()).group(1)
    standin = re.search(r"^STANDIN := (\S+)",
                        (ROOT / "Makefile").read_text(), re.M).group(1)
    corpus = _result("standin_corpus.json")
    return _wrap(
        f"Both commands above do all the set-up on a fresh machine (Python "
        f"{python}+, `make`, access to the Python package index). `make "
        f"standin` builds the {corpus['total_hours']:g} h stand-in corpus of "
        f"real recordings into `{standin}` (it fetches "
        f"{len(corpus['packages'])} Debian packages, "
        f"{corpus['deb_mb'] / 1000:.1f} GB, into "
        "`~/.cache/soundnet-keras/debian`; nothing is installed). `make docs` "
        "builds the documentation site into `site/` (offline, strict).")


def weights_size():
    """SoundNet-8's size, counted on the model built from its spec."""
    import soundnet_keras as sk
    count = sk.SoundNet8(weights=None).count_params()
    return _wrap(
        f"The released SoundNet-8 weights hold {count:,} values "
        f"({count * 4 / 2 ** 20:.0f} MiB as float32: "
        "`sk.SoundNet8(weights=None).count_params()`).")


# -- docs/detector.md: the stand-in corpus -------------------------------------

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
    corpus = _result("standin_corpus.json")
    packages = sorted(corpus["packages"], key=lambda p: -p["deb_mb"])
    big, shares = _zero_ad_shares(corpus)
    first = packages[0]
    effects = [c for c in shares if c not in NOT_EFFECTS]
    mine = sum(shares[c][0] for c in effects)
    total = sum(shares[c][1] for c in effects)
    most = [f"{c} {100 * shares[c][0] / shares[c][1]:.0f}%"
            for c in sorted(effects) if shares[c][0] > shares[c][1] / 2]
    return _wrap(
        f"Packages ({len(packages)}, largest first): "
        + ", ".join(f"`{p['package']}`" for p in packages)
        + f": {corpus['deb_mb'] / 1000:.1f} GB of `.deb`s. `{big}` alone is "
        f"{first['deb_mb'] / 1000:.2f} GB "
        f"({100 * first['deb_mb'] / corpus['deb_mb']:.0f}% of the download) "
        f"but gives {mine:.1f} of the {total:.1f} minutes of effects and more "
        f"than half of the material of {len(most)} classes ({_join(most)}). "
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
    corpus = _result("standin_corpus.json")
    p = corpus["parameters"]
    background = sum(r["minutes"] for r in corpus["material"]
                     if r["event_label"] == "background")
    (ebr_lo, ebr_hi), (speed_lo, speed_hi) = p["ebr_db"], p["speed"]
    shortest, longest = p["recording_seconds"]
    return _wrap(
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
    v1, v2 = _result("standin_corpus_v1.json"), _result("standin_corpus.json")
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
    intro = _wrap(
        f"**Old (v1) against new (v2)**, seed {v2['seed']}, {shape}. v1 "
        "figures from `benchmarks/results/standin_corpus_v1.json` (the v1 "
        "benchmark), v2 from `benchmarks/results/standin_corpus.json` (the "
        "same numbers as the `material.csv` of `make standin`: the build is "
        "deterministic):")
    return "\n".join([intro, ""] + _table(("", "v1", "v2"), rows,
                                          ("---", "---", "---")))


def standin_classes():
    """The v2 corpus per class against the target, and what falls short."""
    v1, corpus = _result("standin_corpus_v1.json"), \
        _result("standin_corpus.json")
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
    intro = _wrap(
        "Per class in v2 (distinct clips and minutes in train / val / test, "
        "reuse in training, packages feeding the training split). The "
        f"issue's target is at least {TARGET_CLIPS} clips and "
        f"{TARGET_MINUTES:g} minutes in training and {TARGET_HELD_CLIPS} "
        "clips in val and test:")
    short = _wrap(
        f"Short of the target (bold): {len(few_minutes)} classes have under "
        f"{TARGET_MINUTES:g} minutes of distinct training material and "
        f"{len(few_clips)} under {TARGET_CLIPS} training clips"
        + (f" ({'; '.join(held)})" if held else "") + ". Classes are drawn "
        "uniformly, so those with little material are reused most "
        f"({most} times in training, against {min(v1_reuse):.0f}-"
        f"{max(v1_reuse):.0f} times for every effect class in v1).")
    table = _table(("class", "clips", "minutes", "reuse", "packages"), rows,
                   ("---", "---", "---", "---:", "---:"))
    return "\n".join([intro, ""] + table + ["", short])


def ci_tier():
    """The small tier that CI fetches: its packages' size and time."""
    from sed.corpora.sources import SMALL_PACKAGES
    corpus = _result("standin_corpus.json")
    small = [p for p in corpus["packages"] if p["package"] in SMALL_PACKAGES]
    seconds = sum(p["download_s"] + p["unpack_s"] for p in small)
    return _wrap(
        "**CI and tests.** `make standin-packages` (run by `.ci/run`) fetches "
        "the small tier (" + ", ".join(f"`{p}`" for p in SMALL_PACKAGES)
        + f": {sum(p['deb_mb'] for p in small):.0f} MB of `.deb`s, "
        f"{seconds:.0f} s to download and unpack in the full build's "
        "measurement, under load); the tests build small corpora from it "
        "through the same code (classes without three source groups there "
        "are left out and listed in `metadata.json` as `missing_classes`).")


# -- docs/detector.md: features and the detector ---------------------------------

def feature_extraction():
    """Extraction over the full stand-in corpus."""
    result = _result("feature_extraction.json")
    rows = result["rows"]
    hours = rows[0]["audio_s"] / 3600
    intro = _wrap(
        f"Over the full stand-in corpus ({rows[0]['recordings']} recordings, "
        f"{hours:.1f} h), `benchmarks/feature_extraction.py` "
        "(`benchmarks/results/feature_extraction.json`):")
    table = _table(
        ("kind", "dims", "frame rate", "set-up", "extract + cache",
         "x real time", "read from cache", "cache size"),
        [(r["kind"], r["dims"], f"{r['frame_rate_hz']:.2f} Hz",
          f"{r['setup_s']:.1f} s"
          + (" (PCA fit on train)" if r["kind"] == "lowlevel" else ""),
          f"{r['cold_s']:.1f} s", f"{r['x_real_time']:.0f}",
          f"{r['warm_s']:.1f} s", f"{r['cache_mb']:.0f} MB") for r in rows],
        ("---",) + ("---:",) * 7)
    return "\n".join([intro, ""] + table)


def opensmile_extraction():
    """``opensmile`` beside ``lowlevel`` on the default corpus."""
    result = _result("feature_extraction_opensmile.json")
    table = _table(
        ("kind", "workers", "set-up (PCA fit on train)", "extract + cache",
         "s per audio hour", "x real time"),
        [(r["kind"], r["workers"], f"{r['setup_s']:.1f} s",
          f"{r['cold_s']:.1f} s", f"{r['cold_s_per_audio_hour']:.0f}",
          f"{r['x_real_time']:.0f}") for r in result["rows"]],
        ("---", "---:", "---:", "---:", "---:", "---:"))
    return "\n".join(table)


def opensmile_cost():
    """What ``opensmile`` costs on the full stand-in corpus, from the
    measured rate."""
    rows = {(r["kind"], r["workers"]): r for r in
            _result("feature_extraction_opensmile.json")["rows"]}
    corpus = _result("standin_corpus.json")
    one, two = rows[("opensmile", 1)], rows[("opensmile", 2)]
    rate = one["cold_s_per_audio_hour"]
    train = corpus["splits"]["train"]["hours"]
    return _wrap(
        f"At {rate:.0f} s per audio hour the {corpus['total_hours']:g} h "
        f"stand-in corpus takes about {rate * corpus['total_hours'] / 60:.0f} "
        f"minutes to extract plus about {rate * train / 60:.0f} to fit (its "
        f"{train:.1f} h training split once more), once; then it is cached "
        f"({one['cache_mb_per_audio_hour']:.1f} MB per audio hour). More "
        "workers pay off only on idle cores: on this shared machine two were "
        + ("slower" if two["cold_s"] > one["cold_s"] else "faster")
        + " than one.")


def ctc_speed():
    """The hand-written CTC gradient against ``tf.nn.ctc_loss``."""
    result = _result("ctc_speed.json")
    ms = {(r["case"], r["mode"]): r["ms"] for r in result["rows"]}
    batch, frames, tokens = result["logits_shape"]
    ours, hinted = "sed.ctc.ctc_loss", "sed.ctc.ctc_loss, hinted (tolerance 10)"
    return _wrap(
        "The loss's speed (`benchmarks/ctc_speed.py`, "
        "`benchmarks/results/ctc_speed.json`): loss and gradient of the "
        f"paper's minibatch ({batch} sequences of {frames} frames, {tokens} "
        f"tokens) take {ms[(ours, 'XLA')]:.1f} ms under XLA "
        f"({ms[(hinted, 'XLA')]:.1f} ms hinted), against "
        f"{ms[('tf.nn.ctc_loss', 'XLA')]:.1f} ms for `tf.nn.ctc_loss`; "
        f"without XLA {ms[(ours, 'tf.function')]:.1f} ms against "
        f"{ms[('tf.nn.ctc_loss', 'tf.function')]:.0f} ms.")


PROBES = (("SoundNet conv5, v1 corpus", "soundnet8_conv5"),
          ("low-level, 50-d", "lowlevel"))


def paper_probe():
    """The first epochs of the paper's recipe, from their histories
    (``benchmarks/results/paper_recipe_probe/``)."""
    import math
    rows, first = [], []
    for label, name in PROBES:
        history = _json(RESULTS / "paper_recipe_probe" / name /
                        "history.json")
        epochs = history["epochs"]
        losses = [x for e in epochs for x in e["step_loss"]]
        first.append(f"{label} " + ", ".join(f"{x:.2f}" for x in losses[:5])
                     + (" (all finite)" if all(map(math.isfinite, losses))
                        else " (it diverged)"))
        rows += [(label, e["epoch"], e["steps"], f"{e['train_loss']:.3f}",
                  f"{e['grad_norm_max']:.2f}",
                  f"{100 * e['nonblank_mean']:.1f}%",
                  f"{e['train_decoded_tokens']:,} / "
                  f"{e['train_reference_tokens']:,}",
                  f"{e['train_deletions']:,}",
                  f"{e['train_ter']:.2f} / {e['val_ter']:.2f} / "
                  f"{e['test_ter']:.2f}") for e in epochs]
    table = _table(("features", "epoch", "steps", "mean loss per frame",
                    "max gradient norm", "non-blank frames",
                    "decoded / reference training tokens",
                    "training deletions", "TER train / val / test"), rows,
                   ("---",) + ("---:",) * 8)
    return "\n".join(table + ["", _wrap(
        "The loss per frame of the first five steps: " + "; ".join(first)
        + ".")])


# -- docs/variants.md ------------------------------------------------------------

def snf_layers():
    """SN-F's layer table (Table 2, corrected) from its spec."""
    from soundnet_keras.specs import layer_table
    table = layer_table("snf").set_index("layer")
    rows = []
    for layer in ("conv1", "pool1", "conv2", "pool2", "conv3", "conv4",
                  "conv5", "pool5"):
        r = table.loc[layer]
        sub, field = str(int(r.subsampling)), _seconds(r.receptive_field_s)
        if layer in PAPER_TABLE2:
            sub = f"**{sub}** (printed {PAPER_TABLE2[layer][0]})"
            field = f"**{field}** (printed {PAPER_TABLE2[layer][1]})"
        rows.append((layer, int(r.feature_maps), int(r.filter_size), sub,
                     f"{r.frame_rate_hz:,.0f}", field))
    for layers in (("fc1", "fc2", "fc3"), ("output", "output_2")):
        r = table.loc[layers[0]]
        rows.append((", ".join(layers), " + ".join(
            str(int(table.loc[x].feature_maps)) for x in layers)
            if len(set(table.loc[list(layers)].feature_maps)) > 1
            else int(r.feature_maps), "", "", f"{r.frame_rate_hz:,.0f}",
            _seconds(r.receptive_field_s)))
    return "\n".join(_table(
        ("layer (SN-F)", "maps", "filter", "subsampling", "frame rate (Hz)",
         "receptive field"), rows,
        ("---", "---:", "---:", "---:", "---:", "---:")))


def _conv8_field():
    from soundnet_keras.specs import layer_table
    table = layer_table("soundnet8").set_index("layer")
    return table.loc["conv8", "receptive_field_s"], \
        1 / table.loc["conv8", "frame_rate_hz"]


def alignment():
    """Where the targets sit in a clip: the teacher's frame centres against
    the paper's times."""
    import inspect
    from soundnet_keras.specs import get_spec, output_length
    from soundnet_keras.targets import STUDENT_RATE, TEACHER_RATE, \
        target_times
    from soundnet_keras.training import label_frames
    clip = inspect.signature(target_times).parameters["clip_seconds"].default
    teacher, paper = target_times(clip), target_times(clip, "paper")
    frames = label_frames(get_spec("snf"), int(clip * STUDENT_RATE), teacher)
    field, _ = _conv8_field()

    def times(values, last="and"):
        return _join([f"{t:g}" for t in values], last)
    return _wrap(
        "The paper trained the variants on 2 million Flickr videos with "
        "VGG16's object and scene distributions at "
        f"{times(paper)} s of each {clip:g} s clip. That data cannot be had, "
        "so here the teacher is the ported SoundNet-8, and each of its conv8 "
        "frames is the target of the student frame nearest that frame's own "
        f"centre: {_join([f'{t:.2f}' for t in teacher])} s of a {clip:g} s "
        f"clip (`specs.frame_times`; student frames {', '.join(map(str, frames))}"
        f"), each frame summarising ~{field:.1f} s of audio. The paper's "
        f"{', '.join(f'{t:g}' for t in paper)} s (where VGG16 looked at the "
        "video) remain as `--alignment paper`; with SoundNet-8 as the "
        "teacher they put targets up to "
        f"{max(abs(paper - teacher)):.1f} s away from what the teacher heard. "
        "Longer clips give every conv8 frame as a target (`--clip-seconds "
        f"40`: {output_length('soundnet8', 'conv8', 40 * TEACHER_RATE)} per "
        "clip), and `--hop-seconds` cuts overlapping clips.")


#: The evidence runs (Figure 1's first data), by column label.
EVIDENCE = (("SN-F", "snf_standin"), ("SN-R (GRU)", "snr_standin"),
            ("SN-R (LSTM, tanh)", "snr_lstm_standin"))


def distill_evidence():
    """Train and validation KL per epoch of the small evidence runs (the
    lowest validation KL of each run in bold)."""
    runs = [_history(name)["epochs"] for _, name in EVIDENCE]
    header = ["epoch"] + [f"{label} {split} KL" for label, _ in EVIDENCE
                          for split in ("train", "val")]
    rows = []
    for i in range(max(len(r) for r in runs)):
        row = [i + 1]
        for epochs in runs:
            if i >= len(epochs):
                row += ["", ""]
                continue
            best = min(e["val_kl"] for e in epochs)
            val = f"{epochs[i]['val_kl']:.3f}"
            row += [f"{epochs[i]['train_kl']:.3f}",
                    f"**{val}**" if epochs[i]["val_kl"] == best else val]
        rows.append(row)
    return "\n".join(_table(header, rows, ["---:"] * len(header)))


def evidence_notes():
    """What the evidence runs' KL means: the paper's values and the
    constant student's."""
    from soundnet_keras.plots import PAPER_VAL_KL
    prior = _json(HISTORIES / "prior_baseline.json")
    best = [_best(_history(name)) for _, name in EVIDENCE]
    return "\n".join([
        _item(f"The KL values are far below the paper's "
              f"({PAPER_VAL_KL['SN-F'][0]:g} SN-F, "
              f"{PAPER_VAL_KL['SN-R GRU'][0]:g} SN-R GRU) because the teacher "
              "differs: SoundNet-8's distributions are broad, VGG16's on "
              "video frames are sharp."),
        _item("The best *constant* student (the mean training target, "
              "`soundnet_keras.targets.prior_baseline`; "
              "`weights/histories/prior_baseline.json`) scores "
              f"a validation KL of **{prior['kl']:.3f}** (objects "
              f"{prior['objects_kl']:.3f}, places {prior['places_kl']:.3f}) "
              f"and top-1 agreement {prior['objects_agreement']:.3f} / "
              f"{prior['places_agreement']:.3f}. At this scale the students "
              "only just beat it ("
              + ", ".join(f"{b['val_kl']:.3f}" for b in best)
              + ") and their top-1 agreement is about the prior's ("
              + ", ".join(f"{b['val_objects_agreement']:.3f} / "
                          f"{b['val_places_agreement']:.3f}" for b in best)
              + "): they have learned the teacher's prior, little more. "
              "Longer runs are needed before their features mean much; the "
              "pipeline, not the result, is what this run shows.")])


def trunk_cache():
    """The size of the cached pool5 features of a clip."""
    import inspect
    from soundnet_keras.specs import get_spec, output_length
    from soundnet_keras.targets import STUDENT_RATE, target_times
    clip = inspect.signature(target_times).parameters["clip_seconds"].default
    frames = output_length("snf", "pool5", int(clip * STUDENT_RATE))
    maps = next(r["filters"] for r in get_spec("snf")["layers"]
                if r["name"] == "conv5")
    return _wrap(
        "The first `train-trunk` caches pool5 (`--features`; float16, "
        f"{frames} frames x {maps} maps = {frames * maps * 2 / 1024:.0f} KiB "
        f"per {clip:g} s clip), later ones reuse it.")


#: The pretrained-trunk runs of the results table: label, history.
TRUNK_RUNS = (
    ("SN-F, pretrained trunk (`snf_trunk_pool`)", "snf_trunk_pool"),
    ("SN-R GRU, pretrained trunk (`snr_trunk_pool`)", "snr_trunk_pool"),
    ("SN-F, same recipe, stand-in corpus train split", "snf_trunk_standin"),
    ("SN-R GRU, same recipe, stand-in corpus train split",
     "snr_trunk_standin"))
SCRATCH_RUNS = (("SN-F, from scratch (`snf_scratch_pool`)", "snf_scratch_pool"),
                ("SN-R GRU, from scratch (`snr_scratch_pool`)",
                 "snr_scratch_pool"))


def _students_table(runs):
    """Each run's best epoch against the constant student; the lowest
    validation KL and the largest gain in bold."""
    from soundnet_keras.cards import PAPER_EPOCHS
    histories = [(label, _history(name)) for label, name in runs]
    bests = [_best(h) for _, h in histories]
    top_kl = min(b["val_kl"] for b in bests)
    top_gain = max(_below(b) for b in bests)
    rows = []
    for (label, h), b in zip(histories, bests):
        model, run = h["config"]["model"], len(h["epochs"])
        stopped = ", stopped" if run < h["config"]["epochs"] else ""
        kl, gain = f"{b['val_kl']:.3f}", f"{_below(b):.1f}%"
        rows.append((
            label, f"{run} ({PAPER_EPOCHS[model]}){stopped}", b["epoch"],
            f"**{kl}**" if len(runs) > 2 and b["val_kl"] == top_kl else kl,
            f"{b['constant_kl']:.3f}",
            f"**{gain}**" if len(runs) > 2 and _below(b) == top_gain
            else gain,
            f"{b['val_objects_agreement']:.3f} "
            f"({b['prior_objects_agreement']:.3f})",
            f"{b['val_places_agreement']:.3f} "
            f"({b['prior_places_agreement']:.3f})"))
    return _table(("student (preset)", "epochs run (paper)", "best epoch",
                   "val KL", "constant KL", "below constant", "objects top-1",
                   "places top-1"), rows,
                  ("---",) + ("---:",) * 7)


def trunk_results():
    return "\n".join(_students_table(TRUNK_RUNS))


def _epoch_seconds(name):
    return [e["time_s"] for e in _history(name)["epochs"]]


def trunk_findings():
    """Time per epoch of the pool runs, and what the runs show."""
    from soundnet_keras.cards import PAPER_EPOCHS
    from soundnet_keras.specs import layer_table
    snf, snr = _history("snf_trunk_pool"), _history("snr_trunk_pool")
    cpus = snf["provenance"]["machine"]["cpus"]
    field, _ = _conv8_field()
    pool5 = layer_table("snf").set_index("layer").loc["pool5",
                                                      "receptive_field_s"]
    best, last = _best(snf), snf["epochs"][-1]

    def span(name):
        t = _epoch_seconds(name)
        return f"{min(t):.0f}-{max(t):.0f} s"
    return "\n".join([
        _wrap(f"Time per epoch on the shared {cpus}-core CPU (each history's "
              f"`time_s`; XLA): SN-F {span('snf_trunk_pool')}, SN-R "
              f"{span('snr_trunk_pool')}, depending on the other jobs, so "
              f"SN-R was stopped after {len(snr['epochs'])} of the paper's "
              f"{PAPER_EPOCHS['snr']} epochs (the run folder resumes with the "
              "same command). What they show:"), "",
        _item("SN-R, whose bidirectional GRUs see the whole clip as each "
              f"teacher frame does (~{field:.1f} s), learns the teacher well "
              "beyond its prior in its first epochs."),
        _item(f"SN-F sees {pool5:.2f} s per frame and cannot know what the "
              f"teacher heard around it: it gets {_below(best):.1f}% below "
              f"the constant student at epoch {best['epoch']} and then "
              f"overfits the training clips (at epoch {last['epoch']}: "
              f"training KL {last['train_kl']:.3f}, validation "
              f"{last['val_kl']:.3f}, lr {_sci(last['lr'])}), so its preset is "
              "the best validation epoch.")])


def scratch_intro():
    snf, snr = _history("snf_scratch_pool"), _history("snr_scratch_pool")

    def minutes(h):
        t = [e["time_s"] for e in h["epochs"]]
        return sum(t) / len(t) / 60
    return _wrap(
        "Table 2 / 3 trained whole from random weights, as in the paper, "
        "with the paper's optimizer, epoch and schedule, on the same pool "
        f"targets as the pretrained-trunk students, "
        f"{snf['config']['precision']} on the "
        f"{snf['provenance']['machine']['cpus']}-core CPU, one thread each, "
        f"side by side (~{minutes(snf):.0f} min an epoch for SN-F, "
        f"~{minutes(snr):.0f} for SN-R):")


def scratch_stopped():
    """How far the from-scratch runs went against the paper's."""
    from soundnet_keras.cards import PAPER_EPOCHS
    runs = [(m, _history(f"{m}_scratch_pool")) for m in ("snf", "snr")]
    steps = [len(h["epochs"]) * h["config"]["steps_per_epoch"]
             for _, h in runs]
    paper = [PAPER_EPOCHS[m] * h["config"]["steps_per_epoch"]
             for m, h in runs]
    minutes = [sum(e["time_s"] for e in h["epochs"]) / 60 for _, h in runs]
    return _wrap(
        f"They were stopped after {len(runs[0][1]['epochs'])} and "
        f"{len(runs[1][1]['epochs'])} epochs ({minutes[0]:.0f} and "
        f"{minutes[1]:.0f} minutes): {steps[0]:,} and {steps[1]:,} "
        f"minibatches, {100 * steps[0] / paper[0]:.0f}% and "
        f"{100 * steps[1] / paper[1]:.0f}% of the paper's {paper[0]:,} and "
        f"{paper[1]:,}.")


def scratch_results():
    """The from-scratch runs' table and what they show."""
    from soundnet_keras.cards import PAPER_EPOCHS
    snf, snr = _history("snf_scratch_pool"), _history("snr_scratch_pool")
    bsnf, bsnr = _best(snf), _best(snr)
    lsnf, lsnr = snf["epochs"][-1], snr["epochs"][-1]
    trunk = [_below(_best(_history(n)))
             for n in ("snf_trunk_pool", "snr_trunk_pool")]
    findings = [
        _item("Both learn the teacher beyond its prior within their first "
              "epochs, about as far as the pretrained-trunk students (SN-F "
              f"{trunk[0]:.1f}%, SN-R {trunk[1]:.1f}% below the constant "
              "student): SoundNet-8's frozen convolutions buy little here, "
              "and cost nothing in accuracy."),
        _item("Both overfit the training clips early: SN-F's validation KL "
              f"is lowest at epoch {bsnf['epoch']} (training KL "
              f"{bsnf['train_kl']:.3f}) and {lsnf['val_kl']:.3f} at epoch "
              f"{lsnf['epoch']} (training {lsnf['train_kl']:.3f}); SN-R's "
              f"rises from {bsnr['val_kl']:.3f} to {lsnr['val_kl']:.3f} at "
              f"epoch {lsnr['epoch']} (training {lsnr['train_kl']:.3f}). The "
              f"paper's {PAPER_EPOCHS['snf']}-{PAPER_EPOCHS['snr']} epochs "
              "were run on millions of clips; on this pool more epochs would "
              "mostly fit the training clips further. A larger pool, not a "
              "longer run, is what these students need.")]
    return "\n".join(_students_table(SCRATCH_RUNS) + [""] + findings)


# -- docs/teaching.md ----------------------------------------------------------

def predict_plot():
    """The ``predict --plot`` item: conv8's hop and receptive field."""
    from soundnet_keras.predictions import TILE_SECONDS
    field, hop = _conv8_field()
    return _item(
        "`predict --plot` (`soundnet_keras.plots.predictions_figure(waveform, "
        "rate)`) draws the waveform and the probabilities of the top objects "
        f"and places in each conv8 frame (one column per {hop:.2f} s, each "
        f"hearing {field:.1f} s), so one sees where the network changes its "
        f"mind; input shorter than {TILE_SECONDS:g} s is tiled as `predict` "
        "does, and the tiled part is shaded.")


#: region name -> function returning its Markdown.
REGIONS = {
    "guides-setup": setup,
    "guides-weights-size": weights_size,
    "guides-standin-packages": standin_packages,
    "guides-standin-mixing": standin_mixing,
    "guides-standin-v1-v2": standin_v1_v2,
    "guides-standin-classes": standin_classes,
    "guides-standin-ci": ci_tier,
    "guides-feature-extraction": feature_extraction,
    "guides-opensmile-extraction": opensmile_extraction,
    "guides-opensmile-cost": opensmile_cost,
    "guides-ctc-speed": ctc_speed,
    "guides-paper-probe": paper_probe,
    "guides-snf-layers": snf_layers,
    "guides-alignment": alignment,
    "guides-distill-evidence": distill_evidence,
    "guides-evidence-notes": evidence_notes,
    "guides-trunk-cache": trunk_cache,
    "guides-trunk-results": trunk_results,
    "guides-trunk-findings": trunk_findings,
    "guides-scratch-intro": scratch_intro,
    "guides-scratch-stopped": scratch_stopped,
    "guides-scratch-results": scratch_results,
    "guides-predict-plot": predict_plot,
}
