"""Doctest namespace: docstring examples may use ``np`` and the package's names."""

import importlib.util
import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# The openSMILE feature's examples need the optional `opensmile` package.
collect_ignore = [] if importlib.util.find_spec("opensmile") else [
    "sed/features/smile.py"]


@pytest.fixture(autouse=True)
def _doctest_names(doctest_namespace):
    import soundnet_keras
    doctest_namespace["np"] = np
    for name in soundnet_keras.__all__:
        doctest_namespace[name] = getattr(soundnet_keras, name)


try:  # the Beam pipeline is an extra: pip install .[beam]
    import apache_beam  # noqa: F401
except ImportError:
    collect_ignore = ["soundnet_keras/beam.py"]
