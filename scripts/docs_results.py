"""The generated regions of ``docs/reproduction.md`` and
``docs/variants.md``, from the committed histories and results (see
``scripts/write_docs.py``)."""

#: region name -> function returning its Markdown.
REGIONS = {}
