"""Provenance of a measurement: command, commit, date, machine (the same
record as the training runs': :func:`soundnet_keras.provenance.provenance`)."""

from soundnet_keras.provenance import provenance

__all__ = ["provenance"]
