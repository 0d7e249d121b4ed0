"""Publishing a student run as a preset of the package.

:func:`publish_preset` copies a run's history (``history.json`` / ``.csv``,
with its config, provenance and identity) into
``<presets>/histories/<name>.history.*`` and, unless ``history_only``, the
student of its best validation epoch (``<model>.weights.h5`` of a finished
run, or ``<model>_trunk.weights.h5`` of a pretrained-trunk run) into
``<presets>/<name>.weights.h5`` with its sha256 in ``SHA256SUMS``. The
preset's ``PRESETS`` entry (:mod:`soundnet_keras.weights`) is written by
hand: it says what the weights are.

Nothing is replaced unless asked by name: a preset the package ships, or a
name that already has a history or weights in the folder, is refused unless
``replace`` repeats the name (``--replace NAME``). Everything is checked
before anything is written, and the files are staged beside their places
and moved in together, so a refusal or a failure leaves the folder as it
was.

A run stopped before its ``--epochs`` has no final weights yet: run the same
training command with ``--epochs`` set to the epochs it has (it then writes
them at once), then publish.

Example:
    ``soundnet-keras publish runs/students/snf_scratch_pool snf_scratch_pool
    --replace snf_scratch_pool``
"""

import contextlib
import json
import shutil
from pathlib import Path

from .stores import atomic_file
from .weights import PACKAGE_DIR, PRESETS, record_sha256


class PublishError(ValueError):
    """A run that cannot be published as asked; nothing was written."""


def publish_preset(run, name, presets=PACKAGE_DIR, history_only=False,
                   replace=None, log=print):
    """Publishes the run folder ``run`` as preset ``name`` (see the module
    docstring); returns the paths written.

    Raises:
        PublishError: for a folder that is no student run, a run without
            final weights (unless ``history_only``), or a name that exists
            (shipped, or files in ``presets``) unless ``replace == name``;
            nothing is written.
    """
    run, presets = Path(run), Path(presets)
    log = log or (lambda *_: None)
    history = run / "history.json"
    if not history.is_file():
        raise PublishError(f"{history} does not exist: is {run} a student "
                           "run? Nothing was written.")
    model = json.loads(history.read_text())["config"]["model"]
    sources = {run / "history.json":
               presets / "histories" / f"{name}.history.json",
               run / "history.csv":
               presets / "histories" / f"{name}.history.csv"}
    if not history_only:
        candidates = [run / f"{model}.weights.h5",
                      run / f"{model}_trunk.weights.h5"]
        weights = next((p for p in candidates if p.is_file()), None)
        if weights is None:
            raise PublishError(
                f"{run} has no final weights ({candidates[0].name}); run its "
                "training command again with --epochs set to the epochs it "
                "has, then publish. Nothing was written.")
        sources[weights] = presets / f"{name}.weights.h5"
    existing = [target for target in sources.values() if target.exists()]
    shipped = presets == PACKAGE_DIR and name in PRESETS
    if (existing or shipped) and replace != name:
        what = "a preset the package ships" if shipped else \
            f"already has {', '.join(p.name for p in existing)}"
        where = "the package's presets" if presets == PACKAGE_DIR else \
            str(presets)
        raise PublishError(
            f"{name!r} is {what} in {where}; it is replaced only when "
            f"asked by name: --replace {name} (Python: replace={name!r}). "
            "Nothing was written.")
    # Every file is copied beside its target before any is renamed.
    with contextlib.ExitStack() as stack:
        for source, target in sources.items():
            shutil.copyfile(source, stack.enter_context(atomic_file(target)))
    log(f"history of {run} -> {presets / 'histories'}/{name}.history.*")
    if not history_only:
        target = sources[weights]
        log(f"{weights} -> {target} (sha256 {record_sha256(target)})")
    return list(sources.values())


__all__ = ["PublishError", "publish_preset"]
