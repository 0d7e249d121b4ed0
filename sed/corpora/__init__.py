"""Sound event corpora: the layout on disk, loading, and generated corpora.

The paper's noiseme corpus (Wang & Metze 2017, Section 3.2: 464 recordings,
9.6 h, 17 event types, split 3:1:1 by duration) is not public. This package
reads any corpus laid out as :mod:`sed.corpora.layout` says, and builds:

* :func:`make_default_corpus` (:mod:`~sed.corpora.default`): procedurally
  synthesised, built in seconds; for tests and demos.
* :func:`make_standin_corpus` (:mod:`~sed.corpora.standin`): the paper's
  shape mixed from real recordings in Debian packages
  (:mod:`~sed.corpora.sources`, fetched by :mod:`~sed.corpora.debian`).
* :func:`make_pool` (:mod:`~sed.corpora.pool`): hours of unlabelled real
  audio for distilling SoundNet's students, read with :func:`load_pool`.

Scenes are mixed by :mod:`~sed.corpora.mixer`. The command line is
``sed-ctc corpus {standin,default,pool,summary}`` (:mod:`~sed.corpora.cli`).

Example:
    >>> import tempfile
    >>> corpus = make_default_corpus(tempfile.mkdtemp(), minutes=1, seed=0)
    >>> len(corpus.classes), corpus.sample_rate, len(corpus.files("train"))
    (17, 16000, 3)
"""

from .default import DEFAULT_CLASSES, make_default_corpus, synthesise
from .layout import SAMPLE_RATE, SPLIT_RATIO, SPLITS, Corpus, \
    class_summary, format_summary, load_corpus, polyphony_shares
from .mixer import energy_span, event_level, pink_noise, split_3_1_1
from .pool import load_pool, make_pool
from .sources import STANDIN_CLASSES, StandinClass
from .standin import make_standin_corpus, standin_available, \
    transition_recording

__all__ = ["Corpus", "DEFAULT_CLASSES", "SAMPLE_RATE", "SPLITS",
           "SPLIT_RATIO", "STANDIN_CLASSES", "StandinClass", "class_summary",
           "energy_span", "event_level", "format_summary", "load_corpus",
           "load_pool", "make_default_corpus", "make_pool",
           "make_standin_corpus", "pink_noise", "polyphony_shares",
           "split_3_1_1", "standin_available", "synthesise",
           "transition_recording"]
