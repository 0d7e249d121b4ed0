"""Publishing a student run as a preset of the package.

:func:`publish_preset` copies a run's history (``history.json`` / ``.csv``,
with its config, provenance and identity) into
``<presets>/histories/<name>.history.*`` and, unless ``history_only``,
writes the preset folder ``<presets>/<name>/`` (the layout of
:mod:`soundnet_keras.preset_folders`): ``model.weights.h5``, the student of
the run's best validation epoch (``<model>.weights.h5`` of a finished run,
or ``<model>_trunk.weights.h5`` of a pretrained-trunk run);
``config.json``, its architecture from the run's config;
``metadata.json``, its sha256, the ``description`` given, the run's
provenance; ``README.md``, its model card (:func:`soundnet_keras.cards.
preset_card`). ``<presets>`` is the checkout's ``weights/`` by default,
whose folders are the built-in presets (:data:`soundnet_keras.weights.
PRESETS` is read from them).

Nothing is replaced unless asked by name: a built-in preset, or a name that
already has a history or a folder in ``<presets>``, is refused unless
``replace`` repeats the name (``--replace NAME``). Everything is checked
before anything is written, and the files and the folder are staged beside
their places and moved in together, so a refusal or a failure leaves the
presets as they were.

A run stopped before its ``--epochs`` has no final weights yet: run the same
training command with ``--epochs`` set to the epochs it has (it then writes
them at once), then publish.

Example:
    ``soundnet-keras publish runs/students/snf_scratch_pool snf_scratch_pool
    --replace snf_scratch_pool --description "SN-F trained from scratch"``
"""

import contextlib
import json
import shutil
from pathlib import Path

from .stores import atomic_file, staged_folder
from .weights import (FORMAT, METADATA_FILE, PRESETS, WEIGHTS_DIR,
                      WEIGHTS_FILE, sha256)


class PublishError(ValueError):
    """A run that cannot be published as asked; nothing was written."""


def preset_config(run_config):
    """A preset's ``config.json`` (as a dict) from a student run's config
    (its ``history.json``'s ``config``): the model and the factory
    arguments of its architecture, with the heads.

    Example:
        >>> preset_config(dict(model="snr", rnn_activation="relu",
        ...                    batch_norm=True))["config"]
        {'cell': 'gru', 'batch_norm': True, 'activation': 'relu'}
    """
    model = run_config["model"]
    if model == "snf":
        arguments = dict(activation=run_config.get("activation", "tanh"))
    elif model in ("snr", "snr_lstm"):
        arguments = dict(cell="gru" if model == "snr" else "lstm",
                         batch_norm=run_config.get("batch_norm", True),
                         activation=run_config.get("rnn_activation", "relu"))
    else:
        raise PublishError(f"a run of model {model!r} is not a student run "
                           "(snf, snr, snr_lstm). Nothing was written.")
    return dict(format=FORMAT, model=model, config=arguments,
                include_top=True)


def publish_preset(run, name, presets=WEIGHTS_DIR, history_only=False,
                   replace=None, description="", log=print):
    """Publishes the run folder ``run`` as preset ``name`` (see the module
    docstring); returns the paths written.

    Raises:
        PublishError: for a folder that is no student run, a run without
            final weights (unless ``history_only``), or a name that exists
            (built in, or a history or folder in ``presets``) unless
            ``replace == name``; nothing is written.
    """
    run, presets = Path(run), Path(presets)
    log = log or (lambda *_: None)
    history = run / "history.json"
    if not history.is_file():
        raise PublishError(f"{history} does not exist: is {run} a student "
                           "run? Nothing was written.")
    record = json.loads(history.read_text())
    histories = {run / "history.json":
                 presets / "histories" / f"{name}.history.json",
                 run / "history.csv":
                 presets / "histories" / f"{name}.history.csv"}
    folder, weights = presets / name, None
    targets = list(histories.values())
    if not history_only:
        config = preset_config(record["config"])
        model = config["model"]
        candidates = [run / f"{model}.weights.h5",
                      run / f"{model}_trunk.weights.h5"]
        weights = next((p for p in candidates if p.is_file()), None)
        if weights is None:
            raise PublishError(
                f"{run} has no final weights ({candidates[0].name}); run its "
                "training command again with --epochs set to the epochs it "
                "has, then publish. Nothing was written.")
        targets.append(folder)
    existing = [p for p in targets if p.exists()]
    package = presets.resolve() == WEIGHTS_DIR.resolve()
    built_in = package and name in PRESETS
    if (existing or built_in) and replace != name:
        what = "is a built-in preset" if built_in else \
            f"already has {', '.join(p.name for p in existing)} in {presets}"
        raise PublishError(
            f"{name!r} {what}; it is replaced only when asked by name: "
            f"--replace {name} (Python: replace={name!r}). Nothing was "
            "written.")
    if weights is not None and not description:
        old = folder / METADATA_FILE
        description = json.loads(old.read_text()).get("description") \
            if old.is_file() else None
        if not description:
            raise PublishError(
                "a new preset needs a description (one line on what it "
                "is, for its card): --description TEXT (Python: "
                "description=...). Nothing was written.")
    with contextlib.ExitStack() as stack:
        # Every file and the folder are staged beside their places before
        # any is moved in.
        if weights is not None:
            stage = stack.enter_context(staged_folder(folder, overwrite=True))
            digest = _write_folder(stage, name, config, record, weights,
                                   description,
                                   "weights" if package else str(presets))
        for source, target in histories.items():
            shutil.copyfile(source, stack.enter_context(atomic_file(target)))
    log(f"history of {run} -> {presets / 'histories'}/{name}.history.*")
    if weights is not None:
        log(f"{weights} -> {folder / WEIGHTS_FILE} (sha256 {digest})")
    return targets


def _write_folder(stage, name, config, record, weights, description, where):
    """Writes the preset folder of a run into ``stage``; returns the
    weights' sha256."""
    from .cards import preset_card
    from .preset_folders import new_metadata, write_preset_files
    shutil.copyfile(weights, stage / WEIGHTS_FILE)
    base = "soundnet8_flickr" if weights.name.endswith("_trunk.weights.h5") \
        or record["config"].get("init_from_soundnet8") else None
    metadata = new_metadata(name, description, base,
                            sha256(stage / WEIGHTS_FILE),
                            provenance=record.get("provenance"))
    write_preset_files(stage, config, metadata,
                       preset_card(name, config, metadata, record, where))
    return metadata["weights_sha256"]


__all__ = ["PublishError", "preset_config", "publish_preset"]
