"""Trained detectors: a run folder's network, featuriser and classes.

:func:`save_detector` writes what a run folder needs to featurise new audio
as in training (``detector.json``, ``features/``); :func:`load_detector`
reads it back into a :class:`Detector`, which detects events in audio
files. Evaluation on a corpus: :func:`sed.decode.evaluate_detector`.
"""

import json
import os
from pathlib import Path

import numpy as np

from soundnet_keras.runs import RunFolder, named_variables
from soundnet_keras.weights import sha256

from .decode import decode_events, predict_probabilities

#: The run-folder file describing a trained detector.
DETECTOR_FILE = "detector.json"


def save_detector(out_dir, model, classes, extractor, normaliser, config,
                  data_fingerprint=None):
    """Writes what a run folder needs to featurise new audio and detect.

    ``detector.json`` (classes, feature kind, the feature weights and their
    hash, the network's config, the chunk length) and ``features/``
    (``normaliser.npz``; for a fitted kind its PCA, ``<kind>_pca.npz``:
    ``lowlevel_pca.npz``, ``opensmile_pca.npz``). ``detector.json`` names
    the PCA's file, so folders written before the file was named after its
    kind (``lowlevel_pca.npz`` for every kind) load as they are.
    """
    out_dir = Path(out_dir)
    folder = out_dir / "features"
    folder.mkdir(parents=True, exist_ok=True)
    normaliser.save(folder / "normaliser.npz")
    feats = config["feats"]
    info = dict(classes=list(classes), feature_kind=str(extractor.kind),
                feature_sha256=extractor.weights_sha256,
                network=model.get_config(),
                chunk_frames=int(config["training"]["chunk_frames"]),
                normaliser="features/normaliser.npz",
                data_fingerprint=data_fingerprint)
    if hasattr(extractor, "save"):  # a fitted kind's PCA
        name = f"{info['feature_kind']}_pca.npz"
        extractor.save(folder / name)
        info["feature_params"] = f"features/{name}"
    else:
        weights_path = getattr(extractor, "weights_path", None)
        named = feats["weights"]
        if weights_path is None:     # random weights: not reproducible
            info["feature_weights"] = None
        else:
            is_preset = isinstance(named, str) and os.sep not in named \
                and not named.endswith(".h5")
            info["feature_weights"] = named if is_preset else \
                str(Path(weights_path).resolve())
            info["feature_weights_file_sha256"] = sha256(weights_path)
    from soundnet_keras.stores import write_text
    return write_text(out_dir / DETECTOR_FILE,
                      json.dumps(info, indent=2) + "\n")


class Detector:
    """A trained CTC-RNN with its featuriser (see :func:`load_detector`).

    Attributes:
        model: the :class:`sed.CTCRNN`.
        classes: the event labels.
        extractor: the feature extractor (``path -> (values, times)``).
        normaliser: the training-set :class:`sed.features.Normaliser`.
        chunk_frames: frames per chunk when the network runs.
        run_dir: the run folder.
    """

    def __init__(self, model, classes, extractor, normaliser, chunk_frames,
                 run_dir=None):
        self.model = model
        self.classes = list(classes)
        self.extractor = extractor
        self.normaliser = normaliser
        self.chunk_frames = int(chunk_frames)
        self.run_dir = run_dir

    def featurise(self, path):
        """Normalised ``(features (T, D), times (T,))`` of an audio file."""
        values, times = self.extractor(path)
        return self.normaliser(values), np.asarray(times, dtype=np.float64)

    def probabilities(self, features):
        """Per-frame token probabilities of a list of feature arrays."""
        return predict_probabilities(self.model, features, self.chunk_frames)

    def detect(self, path, features=None):
        """Events of one audio file: a DataFrame ``filename, onset, offset,
        event_label``, ``filename`` the path as given (so the rows of files
        of one name in several folders stay apart). ``features`` may pass
        ``featurise(path)``'s result."""
        values, times = features if features is not None else \
            self.featurise(path)
        events = decode_events(self.probabilities([values])[0], times,
                               self.classes)
        events.insert(0, "filename", str(path))
        return events[["filename", "onset", "offset", "event_label"]]


def _make_extractor(info, run_dir):
    from .features import load_fitted, make_extractor
    kind = info["feature_kind"]
    if "feature_params" in info:
        extractor = load_fitted(kind, run_dir / info["feature_params"])
    else:
        weights = info.get("feature_weights")
        if weights is None and "feature_weights_file_sha256" not in info:
            raise ValueError(f"{run_dir}: the features were made with random "
                             "weights that were not saved; this run cannot "
                             "featurise new audio")
        extractor = make_extractor(kind, weights=weights)
    if extractor.weights_sha256 != info["feature_sha256"]:
        raise ValueError(
            f"{run_dir}: the {kind} feature extractor now gives other "
            f"features than in training (parameters hash "
            f"{extractor.weights_sha256[:12]}, trained with "
            f"{info['feature_sha256'][:12]})")
    return extractor


def load_detector(run_dir, weights=None):
    """Reads a trained run folder into a :class:`Detector`.

    Args:
        run_dir: a folder written by :func:`sed.train.train`.
        weights: a ``.weights.h5`` file; default the run's final
            ``model.weights.h5``, or its last checkpoint while training has
            not finished.

    Raises:
        FileNotFoundError: when the folder holds no detector or weights.
        ValueError: when ``detector.json`` is damaged or incomplete, or the
            weights do not fit its network.
    """
    from .features import Normaliser
    from .model import CTCRNN
    run_dir = Path(run_dir)
    path = run_dir / DETECTOR_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{run_dir} is not a trained run folder (no "
                                f"{DETECTOR_FILE})")
    try:
        info = json.loads(path.read_text())
    except ValueError as err:
        raise ValueError(f"{path} is not valid JSON ({err}); the run folder "
                         "is damaged: train it again") from None
    missing = [key for key in ("classes", "feature_kind", "feature_sha256",
                               "network", "chunk_frames", "normaliser")
               if key not in info]
    if missing:
        raise ValueError(f"{path} lacks {', '.join(missing)}: it was not "
                         "written by sed.train.train (or is damaged); train "
                         "the detector again")
    model = CTCRNN.from_config(info["network"])
    if weights is None and (run_dir / "model.weights.h5").is_file():
        weights = run_dir / "model.weights.h5"
    if weights is not None:
        try:
            model.load_weights(weights)
        except (ValueError, KeyError, OSError) as err:
            raise ValueError(
                f"{weights}: these weights do not fit the network of "
                f"{path} ({str(err).splitlines()[0][:200]}); runs trained "
                "before the fused engine (sed.lstm) must be trained "
                "again") from None
    else:
        folder = RunFolder(run_dir, ())
        if folder.latest is None:
            raise FileNotFoundError(f"{run_dir} holds no trained weights yet")
        folder.restore(named_variables(model=model), partial=True)
    return Detector(model, info["classes"], _make_extractor(info, run_dir),
                    Normaliser.load(run_dir / info["normaliser"]),
                    info["chunk_frames"], run_dir)


__all__ = ["DETECTOR_FILE", "Detector", "load_detector", "save_detector"]
