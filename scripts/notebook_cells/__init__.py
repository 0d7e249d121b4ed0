"""The cells of the notebooks of ``notebooks/``, one module per notebook
(``CELLS``), written out and run by ``scripts/build_notebooks.py``."""

import nbformat

SETUP = """\
%matplotlib inline
import os
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
from soundnet_keras.console import start_tensorflow
start_tensorflow()  # TensorFlow without its start-up lines
import pandas as pd
pd.set_option("display.precision", 3)"""


def md(text):
    return nbformat.v4.new_markdown_cell(text.strip())


def code(text, figure=None):
    cell = nbformat.v4.new_code_cell(text.strip())
    if figure:
        cell.metadata["figure"] = figure
    return cell
