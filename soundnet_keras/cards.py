"""Model cards: one per preset, generated from its metadata and history.

A card says what a preset is (architecture and input: sample rate, scaling,
frame rate and receptive field of its outputs, the last-frame rule of
SoundNet-8's predictions), what it was trained on and for how long against
the paper, how well (its history's best validation KL beside the constant
student's), what it is for and not for, its licence, the versions that
wrote it and its sha256. It is the ``README.md`` of the preset's folder in
``weights/`` (``scripts/write_docs.py`` writes them; ``soundnet-keras
publish`` writes one with each preset it publishes); ``soundnet-keras info
PRESET`` prints it; the documentation site lists all of them
(``docs/models.md``).

Example:
    >>> print(model_card("snr_scratch_pool").splitlines()[0])
    # snr_scratch_pool
"""

import json

from .specs import get_spec, layer_table
from .weights import HISTORIES_DIR, PRESETS, WEIGHTS_DIR, read_preset_folder

#: The paper's training of its students (Section 2.2; Tables 2 and 3).
PAPER_EPOCHS = {"snf": 175, "snr": 300, "snr_lstm": 300}

#: What every card says the presets are for, and not for.
USE = ("Intended use: features for sound event detection and audio "
       "classification (any layer, `sk.extract_features`), the detector's "
       "feature kinds (`sed.features`), and research on transfer from "
       "SoundNet. Limits: SoundNet's object and place categories are "
       "ImageNet's and Places' labels seen by a vision network in video "
       "frames, not sound labels.")
STUDENT_LIMITS = ("The students learned from a far smaller and different "
                  "collection of audio than SoundNet-8's Flickr videos (a "
                  "pool of recordings from Debian's game and application "
                  "packages) and may carry its biases.")


def _history(name):
    path = HISTORIES_DIR / f"{name}.history.json"
    return json.loads(path.read_text()) if path.is_file() else None


def _geometry(model):
    """The model's layer table (Tables 1-3: feature maps, frame rate and
    receptive field of each layer) as Markdown lines."""
    rows = ["| layer | feature maps | frame rate (Hz) | receptive field (s) |",
            "|---|---:|---:|---:|"]
    for line in layer_table(model).itertuples():
        field = line.receptive_field_s
        rows.append(f"| {line.layer} | {line.feature_maps} | "
                    f"{line.frame_rate_hz:.3f} | "
                    + ("whole input" if field == float("inf") else "-"
                       if field != field else f"{field:.3f}") + " |")
    return rows


def model_card(name):
    """The Markdown model card of a built-in preset (a key of
    :data:`soundnet_keras.weights.PRESETS`), from its folder's
    ``config.json`` and ``metadata.json`` and its history."""
    if name not in PRESETS:
        raise ValueError(f"Unknown preset {name!r}. Presets: "
                         f"{', '.join(PRESETS)}")
    config, metadata = read_preset_folder(WEIGHTS_DIR / name)
    return preset_card(name, config, metadata, _history(name))


def preset_card(name, config, metadata, history, where="weights"):
    """The Markdown model card of preset ``name`` from its ``config.json``
    and ``metadata.json`` (dicts) and its training history (a
    ``history.json`` record, or None), the preset's folder being in the
    presets folder ``where`` (``weights``: a built-in one)."""
    from . import __version__
    model = config["model"]
    spec = get_spec(model)
    arguments = ", ".join(f"{k}={v}" for k, v in config["config"].items())
    load = name if where == "weights" else f"{where}/{name}"
    lines = [f"# {name}", "", metadata["description"] + ".", "",
             "## Architecture and input", "",
             f"- Model: `{model}`" + (f" ({arguments})" if arguments else "")
             + f"; load it with `sk.load_preset(\"{load}\")`.",
             f"- Input: mono audio at {spec['sample_rate']:,} Hz; a waveform "
             "in [-1, 1] is scaled to [-256, 256] by "
             "`sk.preprocess_input` (as the original SoundNet), which "
             "`sk.extract_features` and `sk.predict` call for you.",
             "- Frame times: frame i of a layer is centred on the span of "
             "input it reads (`sk.frame_times(model, layer, n)`)."]
    if model == "soundnet8":
        lines.append(
            "- Predictions: a conv8 frame whose window reaches conv7's last "
            "frame (mostly zero padding past the end) is left out, and "
            "clips shorter than 20 s are tiled to 20 s "
            "(`soundnet_keras.predictions.reliable_frames`).")
    lines += ["", *_geometry(model), "", "## Training", ""]
    if model == "soundnet8":
        lines += ["Trained by Aytar, Vondrick & Torralba (NIPS 2016) on "
                  "about 2 million Flickr videos, against ImageNet and "
                  "Places networks' predictions on the video frames. The "
                  "weights are the released ones, ported from the "
                  "`soundnet` 0.1.2 source distribution and checked layer "
                  "by layer against a NumPy reference; "
                  "`soundnet-keras fetch-weights` puts them in the cache."]
    elif history is not None and any("val_kl" in r
                                     for r in history["epochs"]):
        epochs = history["epochs"]
        best = min((r for r in epochs if "val_kl" in r),
                   key=lambda r: r["val_kl"])
        prov = history.get("provenance") or {}
        lines += [
            f"Distilled from SoundNet-8 by this project: "
            f"{len(epochs)} epochs of "
            f"{history['config'].get('steps_per_epoch')} minibatches of "
            f"{history['config'].get('batch_size')} clips (the paper: "
            f"{PAPER_EPOCHS.get(model, '?')} epochs on 2 million videos). "
            f"Command: `{prov.get('command')}` (commit "
            f"{str(prov.get('commit'))[:12]}, {prov.get('date')}, "
            f"TensorFlow {prov.get('machine', {}).get('tensorflow')}).", "",
            f"Best validation KL {best['val_kl']:.4f} at epoch "
            f"{best['epoch']}"
            + (f", against {best['constant_kl']:.4f} for the constant "
               "student (which predicts the mean training target whatever "
               "it hears)" if "constant_kl" in best else "")
            + (f"; top-1 agreement with the teacher on objects "
               f"{best['val_objects_agreement']:.3f} (the prior "
               f"{best['prior_objects_agreement']:.3f})"
               if "prior_objects_agreement" in best else "")
            + f". History: `{where}/histories/{name}.history.json`."]
    cached = metadata.get("cache_file")
    where_file = (f"`{cached}` in the cache (`{metadata.get('fetch_command')}`"
                  " puts it there)" if cached
                  else f"`{where}/{name}/model.weights.h5`")
    lines += ["", "## Use and limits", "",
              USE + ("" if model == "soundnet8" else " " + STUDENT_LIMITS), "",
              "## Licence and checksum", "",
              "The SoundNet-8 weights: MIT (Aytar, Vondrick, Torralba; "
              "see `NOTICE`)." if model == "soundnet8" else
              "Trained by this project: Apache-2.0, as the code (`NOTICE` "
              "says what they were trained from).", "",
              f"File {where_file}, sha256 `{metadata['weights_sha256']}` "
              f"(checked before every load); card written by soundnet-keras "
              f"{__version__}."]
    return "\n".join(lines) + "\n"


__all__ = ["PAPER_EPOCHS", "STUDENT_LIMITS", "USE", "model_card",
           "preset_card"]
