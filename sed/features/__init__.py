"""Frame-level features for sound event detection, aligned with the labels.

Every feature kind turns one recording into ``(values (T, D) float32, times
(T,) seconds)``, ``times`` being the centre of each frame. Labels reach the
frames through these times only (:func:`frame_labels`), so nothing assumes a
frame rate of exactly 10 Hz.

Kinds (Wang & Metze 2017, Table 4), named ``prefix[:layer]``:

* ``lowlevel``: the project's 50-d low-level descriptors at 10 Hz
  (:class:`LowLevel`, module :mod:`sed.features.lowlevel`), an
  interpretation of the paper's unspecified feature of its reference [6].
* ``opensmile``: openSMILE's emobase functionals at 10 Hz, reduced to 50
  dimensions by a PCA and not whitened (:class:`OpenSmile`, module
  :mod:`sed.features.smile`): features of [6]'s kind.
* ``soundnet8:<layer>`` (default ``conv5``): the pretrained SoundNet-8 on
  22,050 Hz input; conv5 runs at about 10.77 Hz.
* ``snf:<layer>``, ``snr:<layer>`` (default ``pool5``): the paper's 16 kHz,
  10 Hz variants SN-F and SN-R (module :mod:`sed.features.network`).

New kinds join through :func:`register_kind` (module
:mod:`sed.features.kinds`). :func:`features_for` extracts a kind over a
corpus or a list of files, through the cache of :mod:`sed.cache`;
:func:`fill_cache` caches several kinds, the layers of one network in one
pass per recording (:class:`SoundNetLayers`);
:func:`load_aligned` gives a corpus split as normalised (features, labels)
sequences, the input of the CTC-RNN (module :mod:`sed.features.aligned`).
The normalisation statistics (:class:`Normaliser`) and the PCAs are fitted
on the training split only. Features with NaN or inf are refused where they
are made or read (:class:`NonFiniteFeatures`, naming the recording).

Example:
    >>> kind = parse_kind("soundnet8")
    >>> str(kind), kind.layer
    ('soundnet8:conv5', 'conv5')
    >>> frame_labels([("bird", 0.2, 0.4)], ["bird"], [0.05, 0.15, 0.25, 0.35,
    ...                                               0.45])[:, 0]
    array([0., 0., 1., 1., 0.], dtype=float32)
"""

from ..cache import FeatureCache, NonFiniteFeatures, check_finite
from .aligned import (SPLITS, AlignedSequence, Normaliser, corpus_paths,
                      features_for, fill_cache, frame_labels,
                      load_aligned, normaliser_for)
from .kinds import (DEFAULT, FeatureKind, known_kinds, make_extractor,
                    parse_kind, register_kind)
from .lowlevel import (DESCRIPTOR_NAMES, LOWLEVEL_RECIPE, SUMMARY_NAMES,
                       LowLevel, mel_filterbank, short_frame_descriptors)
from .network import NETWORKS, SoundNetFeatures, SoundNetLayers
from .pca import PCAFeature
from .smile import OPENSMILE_RECIPE, OpenSmile

#: The kinds whose extractors are fitted (a PCA), by prefix.
FITTED = {"lowlevel": LowLevel, "opensmile": OpenSmile}


def load_fitted(kind, path):
    """Reads the fitted extractor of a PCA kind saved with its ``save``.

    Example:
        >>> load_fitted("soundnet8", "x.npz")
        Traceback (most recent call last):
        ...
        ValueError: 'soundnet8:conv5' is not fitted: nothing to load
    """
    kind = parse_kind(kind)
    if kind.prefix not in FITTED:
        raise ValueError(f"{str(kind)!r} is not fitted: nothing to load")
    return FITTED[kind.prefix].load(path)


__all__ = ["AlignedSequence", "DEFAULT", "DESCRIPTOR_NAMES", "FITTED",
           "FeatureCache", "FeatureKind", "LOWLEVEL_RECIPE", "LowLevel", "NETWORKS",
           "NonFiniteFeatures", "Normaliser", "OPENSMILE_RECIPE", "OpenSmile",
           "PCAFeature", "SPLITS", "SUMMARY_NAMES", "SoundNetFeatures",
           "SoundNetLayers",
           "check_finite", "corpus_paths", "features_for", "fill_cache",
           "frame_labels",
           "known_kinds", "load_aligned", "load_fitted", "make_extractor",
           "mel_filterbank", "normaliser_for", "parse_kind", "register_kind",
           "short_frame_descriptors"]
