"""Crash-safe run folders, shared by distillation and detector training.

A run folder holds a run's config, its checkpoints and its history. The
rules, the same for :func:`soundnet_keras.training.train` and
:func:`sed.train.fit`:

* **One process per folder**: :class:`RunFolder` takes an exclusive lock
  (``run.lock``, ``fcntl.flock``; the kernel drops it when the process
  dies); a second process is refused with the first one's pid.
* **Atomic checkpoints**: ``tf.train.Checkpoint.write`` of the variables by
  name (model and optimizer: by Keras path, :func:`named_variables`, for
  the detector; by position, :func:`positional_variables`, for the
  students, whose auto-named inner layers change name between processes)
  and of the run's state
  (epoch, schedule, the history rows) to ``checkpoint/ckpt-<epoch>``; then
  ``checkpoint/latest.json`` names it (written to a temporary file and
  renamed). A checkpoint exists once ``latest.json`` names it; a process
  killed before that leaves the previous one in force.
* **History consistent with the checkpoint**: the history rows live in the
  checkpoint's state; ``history.json`` / ``history.csv`` are written from
  them after every checkpoint and again when a run resumes. A kill at any
  moment, then the same command again, gives the history and the final
  weights of an uninterrupted run (tested by killing the process at the
  points of :data:`EXIT_POINTS`, named in the environment variable
  ``SOUNDNET_KERAS_EXIT_AT``).
* **Every process named**: the history's ``provenance`` (command, commit,
  date, machine) is the process that started the run; each process that
  resumed it later is listed in ``continued`` with the epoch it resumed
  after.
* **Configs are validated** (:func:`check_config`: types, ranges, choices;
  :func:`read_yaml`: syntax errors name the file, line and column).

Example:
    >>> schema = {"opt": {"learning_rate": Field(float, minimum=0,
    ...                                          exclusive=True)}}
    >>> check_config({"opt": {"learning_rate": 0.1}}, schema)
    >>> check_config({"opt": {"learning_rate": "fast"}}, schema, "c.yaml")
    Traceback (most recent call last):
    ...
    soundnet_keras.runs.ConfigError: c.yaml: opt.learning_rate must be a number > 0. Received 'fast' (str).
"""

import csv
import json
import math
import os
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .stores import write_text

#: The environment variable naming a point at which the process exits at
#: once (``os._exit``), for tests of crash safety: ``NAME`` or
#: ``NAME:EPOCH``.
EXIT_AT = "SOUNDNET_KERAS_EXIT_AT"

#: The points of an epoch's end, in order: ``trained`` (the epoch's steps
#: are done, nothing is written), ``checkpoint_written`` (the checkpoint's
#: files are written, ``latest.json`` still names the previous one),
#: ``checkpoint_committed`` (``latest.json`` names it, the history files
#: are not written yet), ``history_written`` (all written).
EXIT_POINTS = ("trained", "checkpoint_written", "checkpoint_committed",
               "history_written")

#: The exit status of a process stopped at an exit point.
EXIT_STATUS = 75


class ConfigError(ValueError):
    """A config file or value that cannot be used; the message names it."""


class RunError(ValueError):
    """A run folder that cannot be used as asked; the message says why and
    what to do."""


def exit_point(name, epoch=None):
    """Exits the process at once when :data:`EXIT_AT` names this point."""
    wanted = os.environ.get(EXIT_AT)
    if not wanted:
        return
    point, _, at_epoch = wanted.partition(":")
    if point == name and (not at_epoch or int(at_epoch) == epoch):
        os._exit(EXIT_STATUS)


# --------------------------------------------------------------------------
# Config validation.

class Field(NamedTuple):
    """What a config value may be.

    ``kind``: ``int``, ``float`` (ints accepted), ``bool`` or ``str``;
    ``minimum`` / ``maximum``: bounds (``exclusive``: strict);
    ``choices``: the allowed values; ``nullable``: None allowed.
    """

    kind: type
    minimum: float = None
    maximum: float = None
    exclusive: bool = False
    choices: tuple = None
    nullable: bool = False

    def problem(self, value):
        """None when ``value`` fits, else what it must be."""
        if value is None:
            return None if self.nullable else f"must be {self.describe()}"
        kind = self.kind
        ok = isinstance(value, bool) if kind is bool else \
            isinstance(value, str) if kind is str else \
            (isinstance(value, (int, np.integer)) and not isinstance(
                value, bool)) if kind is int else \
            (isinstance(value, (int, float, np.integer, np.floating))
             and not isinstance(value, bool) and math.isfinite(value))
        if ok and self.choices is not None and value not in self.choices:
            ok = False
        if ok and self.minimum is not None:
            ok = value > self.minimum if self.exclusive else \
                value >= self.minimum
        if ok and self.maximum is not None:
            ok = value <= self.maximum
        return None if ok else f"must be {self.describe()}"

    def describe(self):
        if self.choices is not None:
            text = "one of " + ", ".join(repr(c) for c in self.choices)
        else:
            text = {int: "an integer", float: "a number", bool:
                    "true or false", str: "a string"}[self.kind]
            if self.minimum is not None:
                text += f" {'>' if self.exclusive else '>='} " \
                        f"{self.minimum:g}"
            if self.maximum is not None:
                text += f" {'and ' if self.minimum is not None else ''}" \
                        f"<= {self.maximum:g}"
        return text + (" (or null)" if self.nullable else "")


def check_config(config, schema, source="config", _prefix=""):
    """Raises :class:`ConfigError` for the first value that does not fit
    ``schema`` (``{section: {key: Field}}`` or ``{key: Field}``), naming
    ``source``, the key, what it must be and what it is."""
    for key, field in schema.items():
        value = config.get(key) if isinstance(config, dict) else None
        if isinstance(field, dict):
            if value is not None and not isinstance(value, dict):
                raise ConfigError(f"{source}: {_prefix}{key} must be a "
                                  f"mapping. Received {value!r}.")
            check_config(value or {}, field, source, f"{_prefix}{key}.")
        else:
            _check_one(f"{_prefix}{key}", value, field, source)


def _check_one(name, value, field, source):
    problem = field.problem(value)
    if problem:
        raise ConfigError(f"{source}: {name} {problem}. Received {value!r} "
                          f"({type(value).__name__}).")


def read_yaml(path):
    """A YAML file's content; syntax errors name the file, line and
    column (:class:`ConfigError`)."""
    import yaml
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"{path}: cannot read the config "
                          f"({err.strerror})") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" \
            if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ConfigError(f"{path}: not valid YAML{where}: {problem}. Fix "
                          "the file (e.g. indentation, a missing ':' or "
                          "quote).") from None


def _json_value(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (np.floating, np.integer)):
        return _json_value(value.item())
    return value


def write_history(folder, fields, record):
    """``history.json`` (``record``: config, provenance, ..., ``epochs``:
    the rows) and ``history.csv`` (the rows' ``fields``), each atomic."""
    import io
    folder = Path(folder)
    rows = [{k: _json_value(v) for k, v in r.items()}
            for r in record["epochs"]]
    write_text(folder / "history.json",
               json.dumps({**record, "epochs": rows}, indent=2) + "\n")
    out = io.StringIO()
    writer = csv.DictWriter(out, fields, extrasaction="ignore")
    writer.writeheader()
    writer.writerows({k: "" if v is None else v for k, v in r.items()}
                     for r in rows)
    write_text(folder / "history.csv", out.getvalue())


def named_variables(**objects):
    """``{label/path: variable}`` of Keras models' and optimizers' variables,
    by their Keras paths, with a leading component that is the object's own
    (possibly auto-numbered) name replaced by its label.

    Example:
        >>> import keras
        >>> model = keras.Sequential([keras.layers.Dense(2, name="d")],
        ...                          name="net")
        >>> model.build((None, 3))
        >>> sorted(named_variables(model=model))
        ['model/d/bias', 'model/d/kernel']
    """
    out = {}
    for label, obj in objects.items():
        for var in obj.variables:
            path = var.path
            if path.startswith(f"{obj.name}/"):
                path = path[len(obj.name) + 1:]
            name = f"{label}/{path}"
            if name in out:
                raise RunError(f"two variables are named {name!r}: give the "
                               "layers distinct names")
            out[name] = var
    return out


def positional_variables(model, optimizer=None):
    """``{model/NNN: variable}`` of a Keras model's weights (and
    ``optimizer/NNN`` of its optimizer's variables), named by position, the
    order of Keras' own weight files: the checkpoint names of models whose
    layers hold auto-named inner layers (SN-R's ``Bidirectional`` GRUs:
    ``backward_gru_<n>``), whose paths depend on what else the process
    built before (:func:`named_variables` would not find them again).

    Example:
        >>> import keras
        >>> model = keras.Sequential([keras.layers.Dense(2)])
        >>> model.build((None, 3))
        >>> sorted(positional_variables(model))
        ['model/000', 'model/001']
    """
    objects = dict(model=model.weights, optimizer=optimizer.variables
                   if optimizer is not None else [])
    return {f"{label}/{i:03d}": v for label, variables in objects.items()
            for i, v in enumerate(variables)}


# --------------------------------------------------------------------------
# The run folder.

class RunFolder:
    """A run folder: its lock, checkpoints and history (see the module
    docstring). Use as a context manager, which holds the lock.

    Args:
        folder: the run folder (created if needed).
        fields: the history's CSV columns.
        identity: what the run is made from
            (:func:`soundnet_keras.identity.identity`), kept with every
            checkpoint (``latest.json``) and in the history;
            :meth:`check_identity` refuses a folder whose checkpoint has
            another one (:func:`~soundnet_keras.identity.identity_problem`)
            unless ``force``.
        force: go on with a folder of another identity (its checkpoint then
            takes this identity); ``flag`` names the option that sets it,
            for the message.
        target: the epochs this process was asked to reach; the history
            keeps every target the run was given (``targets``: ``epochs``
            and ``from_epoch``, the epochs done when it was asked), so a run
            stopped early and finished with ``--epochs`` = the epochs it has
            still says what it was run for.
    """

    def __init__(self, folder, fields, identity=None, force=False,
                 flag="--force-resume", target=None):
        self.folder = Path(folder)
        self.fields = tuple(fields)
        self.checkpoints = self.folder / "checkpoint"
        self.identity = identity
        self.force = bool(force)
        self.flag = flag
        self.target = target
        self._start_epoch = 0
        self._lock = None

    # -- lock
    def __enter__(self):
        import fcntl
        self.folder.mkdir(parents=True, exist_ok=True)
        handle = open(self.folder / "run.lock", "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            owner = handle.read().strip() or "unknown"
            handle.close()
            raise RunError(f"{self.folder} is in use by another process "
                           f"(pid {owner}); wait for it to finish or stop "
                           "it, or use another run folder") from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._lock = handle
        latest = self.latest
        self._start_epoch = latest["epoch"] if latest else 0
        return self

    def check_identity(self):
        """Raises :class:`RunError` when the latest checkpoint was made
        from other inputs than :attr:`identity` (unless ``force``); the
        trainers call it once they have checked the config, whose own
        message names the keys that differ."""
        if self.identity is not None and not self.force:
            from .identity import identity_problem
            problem = identity_problem(self.saved_identity, self.identity,
                                       self.folder, self.flag)
            if problem:
                raise RunError(problem)

    @property
    def saved_identity(self):
        """The identity kept with the latest checkpoint (None: none)."""
        path = self.checkpoints / "latest.json"
        if self.latest is None:
            return None
        return json.loads(path.read_text()).get("identity")

    def __exit__(self, *exc):
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    # -- checkpoints
    @property
    def latest(self):
        """``latest.json``'s record (``prefix``, ``epoch``), or None."""
        path = self.checkpoints / "latest.json"
        if not path.is_file():
            return None
        try:
            record = json.loads(path.read_text())
            return dict(prefix=str(record["prefix"]),
                        epoch=int(record["epoch"]))
        except (ValueError, KeyError, TypeError):
            raise RunError(f"{path} is damaged; remove the folder "
                           f"{self.checkpoints} to start the run again, "
                           "or use another run folder") from None

    def _checkpoint(self, variables):
        import tensorflow as tf
        state = tf.Variable("", dtype=tf.string, trainable=False)
        values = {name: getattr(v, "value", v)
                  for name, v in variables.items()}
        return tf.train.Checkpoint(variables=values, state=state), state

    def restore(self, variables, partial=False):
        """Loads the latest checkpoint into ``variables`` (``{name:
        variable}``); returns its state dict, or None without checkpoint.
        Every variable must be in the checkpoint and, unless ``partial``
        (e.g. a model without its optimizer), every value in the checkpoint
        must have its variable."""
        latest = self.latest
        if latest is None:
            return None
        prefix = self.checkpoints / latest["prefix"]
        checkpoint, state = self._checkpoint(variables)
        try:
            status = checkpoint.read(str(prefix))
            if partial:
                status.expect_partial()
                status.assert_existing_objects_matched()
            else:
                status.assert_consumed()
        except Exception as err:  # noqa: BLE001 - any reader failure
            first = str(err).strip().splitlines()[0][:300] if str(err) \
                else type(err).__name__
            raise RunError(
                f"{prefix}: the checkpoint cannot be restored ({first}). "
                "If the files are damaged, remove the checkpoint folder "
                f"{self.checkpoints} to start again; if the model or "
                "optimizer changed, use another run folder") from None
        return json.loads(state.numpy().decode("utf-8"))

    def commit(self, variables, state, record):
        """Writes a checkpoint of ``variables`` and ``state`` (JSON-able;
        ``state["epoch"]`` numbers it), then the history ``record`` (its
        ``epochs``: the rows, which belong in ``state`` too)."""
        epoch = int(state["epoch"])
        self.checkpoints.mkdir(parents=True, exist_ok=True)
        previous = self.latest
        checkpoint, holder = self._checkpoint(variables)
        holder.assign(json.dumps(state, default=_json_value))
        prefix = f"ckpt-{epoch}"
        checkpoint.write(str(self.checkpoints / prefix))
        exit_point("checkpoint_written", epoch)
        write_text(self.checkpoints / "latest.json", json.dumps(dict(
            prefix=prefix, epoch=epoch, **({"identity": self.identity}
                                           if self.identity else {})))
                   + "\n")
        exit_point("checkpoint_committed", epoch)
        self.write_history(record)
        exit_point("history_written", epoch)
        keep = {prefix, previous["prefix"] if previous else None}
        for path in self.checkpoints.glob("ckpt-*"):
            if path.name.split(".")[0] not in keep:
                path.unlink(missing_ok=True)

    def write_history(self, record):
        if self.identity is not None:
            record = {**record, "identity": self.identity}
        if self.target is not None:
            record = {**record, "targets": self._targets(record)}
        if "provenance" in record:
            record = self._provenance(record)
        write_history(self.folder, self.fields, record)

    def _saved_history(self):
        path = self.folder / "history.json"
        if not path.is_file():
            return {}
        try:
            return json.loads(path.read_text())
        except ValueError:
            return {}

    def _targets(self, record):
        targets = self._saved_history().get("targets") or []
        if not targets or targets[-1]["epochs"] != int(self.target):
            targets = targets + [dict(epochs=int(self.target),
                                      from_epoch=self._start_epoch)]
        return targets

    def _provenance(self, record):
        """A resumed run keeps the provenance of the process that started
        it; each later process is added to ``continued`` with the epoch it
        resumed after (``from_epoch``)."""
        if not self._start_epoch:
            return record
        saved = self._saved_history()
        first = saved.get("provenance")
        mine = json.loads(json.dumps(record["provenance"],
                                     default=_json_value))
        if not first or first == mine:
            return record
        continued = list(saved.get("continued") or [])
        if not continued or continued[-1]["provenance"] != mine:
            continued.append(dict(from_epoch=self._start_epoch,
                                  provenance=mine))
        return {**record, "provenance": first, "continued": continued}


__all__ = ["ConfigError", "EXIT_AT", "EXIT_POINTS", "EXIT_STATUS", "Field",
           "RunError", "RunFolder", "check_config", "exit_point",
           "named_variables", "positional_variables", "read_yaml",
           "write_history"]
