"""Network features (kinds ``soundnet8:<layer>``, ``snf:<layer>``,
``snr:<layer>``): the activations of one layer of the pretrained SoundNet-8
(22,050 Hz; conv5 at about 10.77 Hz) or of the paper's 16 kHz, 10 Hz
variants SN-F and SN-R.

Example:
    >>> NETWORKS["snf"]
    ('snf', 'snf_standin')
"""

import functools

import numpy as np

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
            "snf": ("snf", "snf_standin"), "snr": ("snr", "snr_standin")}


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
            project's distilled ``snf_standin`` and ``snr_standin``.

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
        from soundnet_keras.weights import resolve_weights
        self.parsed = parse_kind(kind)
        self.kind = str(self.parsed)
        self.spec_name, preset = NETWORKS[self.parsed.prefix]
        if weights is DEFAULT or weights == DEFAULT:
            if preset is None:
                raise ValueError(
                    f"{self.parsed.prefix!r} has no pretrained preset yet: "
                    "pass weights= (the path to its trained .weights.h5 "
                    "file, or None for random weights)")
            weights = preset
        self.weights_path = resolve_weights(weights, model=self.spec_name)
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
    from soundnet_keras.specs import get_spec
    spec = get_spec(NETWORKS[prefix][0])
    heads = {row["name"] for row in spec["layers"] if row["kind"] == "head"}
    model = _build_network(prefix, weights_path,
                           include_top=layer in heads)
    extractor = FeatureExtractor(layer, model, spec=spec["name"])
    digest = sha256_text(*[np.asarray(w) for w in model.get_weights()])
    return extractor, digest


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

__all__ = ["NETWORKS", "SoundNetFeatures"]
