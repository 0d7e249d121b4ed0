"""Feature kinds and their registry.

A kind is named ``prefix[:layer]``; :func:`register_kind` adds one,
:func:`parse_kind` reads a name and :func:`make_extractor` builds its
extractor, a callable ``path -> (values (T, D) float32, times (T,))``.

Example:
    >>> str(parse_kind("soundnet8")), parse_kind("snf:fc1").layer
    ('soundnet8:conv5', 'fc1')
"""

from dataclasses import dataclass
from typing import Callable, Optional

#: Stands for "the kind's own default weights" in ``weights=`` arguments.
DEFAULT = "default"


@dataclass(frozen=True)
class FeatureKind:
    """A parsed feature kind: ``prefix`` and, for networks, ``layer``."""

    prefix: str
    layer: Optional[str] = None

    def __str__(self):
        return self.prefix if self.layer is None else \
            f"{self.prefix}:{self.layer}"


@dataclass(frozen=True)
class _Registration:
    factory: Callable
    default_layer: Optional[str]
    layers: Callable  # () -> the accepted layer names (empty: no layer)


_REGISTRY = {}


def register_kind(prefix, factory, default_layer=None, layers=()):
    """Adds a feature kind.

    Args:
        prefix: the kind's name before ``:``.
        factory: called as ``factory(kind, weights=..., fit_paths=...,
            cache=..., progress=..., workers=...)`` with a
            :class:`FeatureKind`; returns an
            extractor: a callable ``path -> (values, times)`` with attributes
            ``kind`` (the kind as a string), ``weights_sha256`` (a hash of
            everything its output depends on besides the audio) and
            ``whiten`` (whether the training :class:`Normaliser` may scale
            each dimension to unit variance).
        default_layer: the layer of a bare ``prefix``; None for kinds without
            layers.
        layers: the accepted layers, or a function returning them.
    """
    listing = layers if callable(layers) else (lambda: tuple(layers))
    _REGISTRY[prefix] = _Registration(factory, default_layer, listing)


def known_kinds():
    """The registered kind prefixes, each with its default layer.

    Example:
        >>> known_kinds()
        ['lowlevel', 'opensmile', 'snf:pool5', 'snr:pool5', 'soundnet8:conv5']
    """
    return sorted(str(FeatureKind(p, r.default_layer))
                  for p, r in _REGISTRY.items())


def parse_kind(kind):
    """Parses ``"prefix[:layer]"`` into a :class:`FeatureKind`.

    Raises:
        ValueError: for an unknown prefix or layer; the message lists the
            known ones.

    Example:
        >>> parse_kind("soundnet8:pool5")
        FeatureKind(prefix='soundnet8', layer='pool5')
        >>> parse_kind("mfcc")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: Unknown feature kind 'mfcc'. Known kinds: lowlevel, ...
    """
    if isinstance(kind, FeatureKind):
        kind = str(kind)
    prefix, _, layer = str(kind).partition(":")
    if prefix not in _REGISTRY:
        raise ValueError(
            f"Unknown feature kind {kind!r}. Known kinds: "
            f"{', '.join(known_kinds())} (a network kind takes any of its "
            "layers after ':').")
    reg = _REGISTRY[prefix]
    layers = reg.layers()
    if not layers:
        if layer:
            raise ValueError(f"Feature kind {prefix!r} has no layers. "
                             f"Received: {kind!r}")
        return FeatureKind(prefix)
    layer = layer or reg.default_layer
    if layer not in layers:
        raise ValueError(f"Unknown layer {layer!r} for feature kind "
                         f"{prefix!r}. Layers: {', '.join(layers)}")
    return FeatureKind(prefix, layer)


def make_extractor(kind, *, weights=DEFAULT, fit_paths=None, cache=None,
                   progress=False, workers=1):
    """The extractor of a feature kind (see :func:`register_kind`).

    Args:
        kind: a kind string or :class:`FeatureKind`.
        weights: for network kinds, a preset name, the path to a
            ``.weights.h5`` file, or None (random); default: the model's
            released preset (SoundNet-8 only).
        fit_paths: for fitted kinds (``lowlevel``, ``opensmile``), the
            training recordings their PCA is fitted on.
        cache: a :class:`sed.cache.FeatureCache` where fitted parameters are
            kept (optional).
        progress: show progress bars while fitting.
        workers: processes that compute the descriptors of fitted kinds
            (ignored by network kinds).
    """
    kind = parse_kind(kind)
    return _REGISTRY[kind.prefix].factory(kind, weights=weights,
                                          fit_paths=fit_paths, cache=cache,
                                          progress=progress, workers=workers)


__all__ = ["DEFAULT", "FeatureKind", "known_kinds", "make_extractor",
           "parse_kind", "register_kind"]
