"""Provenance of a measurement: command, commit, date, machine (the same
record as the training runs': :func:`soundnet_keras.training.provenance`)."""

from soundnet_keras.training import provenance

__all__ = ["provenance"]
