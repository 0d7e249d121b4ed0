"""Moved to :mod:`sed.corpora`; this module re-exports it for old imports.

``python -m sed.data ...`` runs ``sed-ctc corpus ...``.
"""

import sys

from .corpora import *  # noqa: F401,F403
from .corpora import __all__  # noqa: F401


def main(argv=None):
    """``python -m sed.data ARGS`` = ``sed-ctc corpus ARGS``."""
    from .cli import main as sed_main
    return sed_main(["corpus", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
