"""Network features (kinds ``soundnet8:<layer>``, ``snf:<layer>``,
``snr:<layer>``): the activations of one layer of the pretrained SoundNet-8
(22,050 Hz; conv5 at about 10.77 Hz) or of the paper's 16 kHz, 10 Hz
variants SN-F and SN-R. :class:`SoundNetLayers` gives several layers of one
network in one pass per recording.

Example:
    >>> NETWORKS["snf"]
    ('snf', 'snf_trunk_pool')
"""

import functools

import numpy as np

from soundnet_keras.weights import DEFAULT_STUDENTS

from ..cache import check_finite, file_sha256, sha256_text
from .kinds import DEFAULT, parse_kind, register_kind


def _build_network(prefix, weights, include_top):
    import soundnet_keras as sk
    if prefix == "soundnet8":
        return sk.SoundNet8(include_top=include_top, weights=weights)
    if prefix == "snf":
        return sk.SoundNetF(weights=weights, include_top=include_top)
    if prefix == "snr":
        return sk.SoundNetR(weights=weights, cell="gru",
                            include_top=include_top)
    raise ValueError(f"no network for feature kind {prefix!r}")


#: Model spec and default weights of each network kind.
NETWORKS = {"soundnet8": ("soundnet8", "soundnet8_flickr"),
            **{name: (name, preset)
               for name, preset in DEFAULT_STUDENTS.items()}}


class SoundNetFeatures:
    """Activations of one layer of SoundNet-8, SN-F or SN-R, per recording.

    The recording is read with :func:`soundnet_keras.load_audio` at the
    model's rate (22,050 Hz for SoundNet-8, 16 kHz for SN-F and SN-R),
    zero-padded if shorter than one frame, and run through one reused
    :class:`soundnet_keras.FeatureExtractor`; the frame times are the
    extractor's.

    Args:
        kind: ``"soundnet8:conv5"``, ``"snf:pool5"``, ... (or a
            :class:`FeatureKind`).
        weights: a preset name, the path to a ``.weights.h5`` file, or None
            (random initialisation, hashed by value: a new random network
            each time, so nothing cached is reused); :data:`DEFAULT` is
            SoundNet-8's released weights, and for SN-F and SN-R the
            project's pretrained-trunk students ``snf_trunk_pool`` and
            ``snr_trunk_pool``
            (:data:`soundnet_keras.weights.DEFAULT_STUDENTS`).

    Attributes:
        whiten: True: the training normaliser standardises each dimension.

    Example:
        >>> import tempfile, soundfile
        >>> path = tempfile.mktemp(suffix=".wav")
        >>> soundfile.write(path, np.zeros(32000), 16000)
        >>> values, times = SoundNetFeatures("soundnet8:conv5", None)(path)
        >>> values.shape, round(float(times[1] - times[0]), 4)
        ((23, 256), 0.0929)
    """

    whiten = True

    def __init__(self, kind="soundnet8:conv5", weights=DEFAULT):
        self.parsed = parse_kind(kind)
        self.kind = str(self.parsed)
        self.spec_name = NETWORKS[self.parsed.prefix][0]
        self.weights_path = _weights_path(self.parsed.prefix, weights)
        self.extractor, self.weights_sha256 = _network_extractor(
            self.parsed.prefix, self.parsed.layer,
            None if self.weights_path is None else str(self.weights_path),
            None if self.weights_path is None else
            file_sha256(self.weights_path))
        self.sample_rate = self.extractor.sample_rate

    def __call__(self, path):
        """``(values (T, D) float32, times (T,))`` of one recording."""
        from soundnet_keras import extract_features, load_audio
        waveform = load_audio(path, self.sample_rate, layer=self.parsed.layer,
                              pad=True, model=self.spec_name)
        values, times = extract_features(waveform, self.sample_rate,
                                         self.parsed.layer,
                                         model=self.extractor)
        return check_finite(values, path, self.kind), times


class SoundNetLayers:
    """Several layers of one network (SoundNet-8, SN-F or SN-R, one set of
    weights), computed in one pass per recording
    (:func:`soundnet_keras.extract_layers`).

    For each kind it gives what :class:`SoundNetFeatures` gives (the same
    frames and times; the values to float32 rounding: the layers above
    pool5 run on the folded trunk's pool5) and has the same
    ``weights_sha256``, so both read and write the same cache entries.

    Args:
        kinds: kinds of one network, e.g. ``["snr:pool5", "snr:gru1"]``.
        weights: as for :class:`SoundNetFeatures` (None: one random
            network for all the kinds).

    Attributes:
        kinds: the kinds, as strings.
        weights_sha256: the hash of the weights (their file's, or their
            values' for random weights).

    Example:
        >>> import tempfile, soundfile
        >>> path = tempfile.mktemp(suffix=".wav")
        >>> soundfile.write(path, np.zeros(32000), 16000)
        >>> layers = SoundNetLayers(["snf:pool5", "snf:fc1"], None)
        >>> [values.shape for values, _ in layers(path)]
        [(20, 256), (20, 100)]
    """

    def __init__(self, kinds, weights=DEFAULT):
        from soundnet_keras import MultiLayerExtractor
        parsed = list(dict.fromkeys(parse_kind(k) for k in kinds))
        prefixes = {k.prefix for k in parsed}
        if len(prefixes) != 1 or not prefixes <= set(NETWORKS):
            raise ValueError(
                "SoundNetLayers needs kinds of one network (one of "
                f"{', '.join(NETWORKS)}). Received: {list(map(str, kinds))}")
        prefix = prefixes.pop()
        self.kinds = [str(k) for k in parsed]
        self.layers = [k.layer for k in parsed]
        self.spec_name = NETWORKS[prefix][0]
        path = _weights_path(prefix, weights)
        self.model = _network(prefix, self.layers,
                              None if path is None else str(path))
        self.extractor = MultiLayerExtractor(self.layers, self.model,
                                             spec=self.spec_name)
        self.weights_sha256 = (_values_sha256(self.model) if path is None
                               else file_sha256(path))
        self.sample_rate = self.extractor.sample_rate

    def __call__(self, path):
        """``[(values (T, D) float32, times (T,))]``, one per kind."""
        from soundnet_keras import extract_layers, load_audio
        waveform = load_audio(path, self.sample_rate, model=self.spec_name)
        out = extract_layers(waveform, self.sample_rate, self.layers,
                             model=self.extractor, pad=True)
        return [(check_finite(out[layer][0], path, kind), out[layer][1])
                for kind, layer in zip(self.kinds, self.layers)]


def _weights_path(prefix, weights):
    """The weights file of a network kind (None: random weights)."""
    from soundnet_keras.weights import resolve_weights
    spec_name, preset = NETWORKS[prefix]
    if weights is DEFAULT or weights == DEFAULT:
        if preset is None:
            raise ValueError(
                f"{prefix!r} has no pretrained preset yet: "
                "pass weights= (the path to its trained .weights.h5 "
                "file, or None for random weights)")
        weights = preset
    return resolve_weights(weights, model=spec_name)


def _network(prefix, layers, weights_path):
    """The network of a kind, with its heads if a layer is one."""
    from soundnet_keras.specs import get_spec
    spec = get_spec(NETWORKS[prefix][0])
    heads = {row["name"] for row in spec["layers"] if row["kind"] == "head"}
    return _build_network(prefix, weights_path,
                          include_top=bool(heads & set(layers)))


def _values_sha256(model):
    return sha256_text(*[np.asarray(w) for w in model.get_weights()])


def _network_extractor(prefix, layer, weights_path, weights_sha):
    """A FeatureExtractor and the hash of its weights; networks with weights
    from a file are built once per (file hash, layer) in a process."""
    if weights_path is None:  # random: a new network, hashed by its values
        return _new_network_extractor(prefix, layer, None)
    return _cached_network_extractor(prefix, layer, weights_path,
                                     weights_sha)


@functools.lru_cache(maxsize=4)
def _cached_network_extractor(prefix, layer, weights_path, weights_sha):
    extractor, _ = _new_network_extractor(prefix, layer, weights_path)
    return extractor, weights_sha


def _new_network_extractor(prefix, layer, weights_path):
    from soundnet_keras import FeatureExtractor
    model = _network(prefix, [layer], weights_path)
    extractor = FeatureExtractor(layer, model, spec=NETWORKS[prefix][0])
    return extractor, _values_sha256(model)


def _network_factory(kind, weights, fit_paths, cache, progress, workers):
    return SoundNetFeatures(kind, weights)


def _network_layers(prefix):
    def layers():
        from soundnet_keras.specs import feature_layers
        return tuple(feature_layers(NETWORKS[prefix][0]))
    return layers


register_kind("soundnet8", _network_factory, "conv5",
              _network_layers("soundnet8"))
register_kind("snf", _network_factory, "pool5", _network_layers("snf"))
register_kind("snr", _network_factory, "pool5", _network_layers("snr"))

__all__ = ["NETWORKS", "SoundNetFeatures", "SoundNetLayers"]
