"""The generated regions of ``docs/benchmarks.md``, from
``benchmarks/results/`` (see ``scripts/write_docs.py``)."""

#: region name -> function returning its Markdown.
REGIONS = {}
