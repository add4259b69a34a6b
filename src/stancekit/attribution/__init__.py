"""Learned attribution: a transformer token tagger (BIO over source / cue / content).

* :mod:`.data`: readers (PolNeAR BRAT, CofeNet BIO, the sample gold), windows, BIO labels, and the
  BRAT → CofeNet-style BIO converter;
* :mod:`.train`: ``stancekit train quotes`` (a small training loop, a self-describing model folder);
* :mod:`.tagger`: inference through :class:`~stancekit.engine.InferenceEngine`, window stitching,
  BIO decoding and cue-centred linking;
* :mod:`.component`: the ``stancekit_quote_tagger`` spaCy component that writes
  ``doc._.stancekit_quotes`` in the records' shape (used when ``[pipeline] quotes_model`` is set).

Design notes: docs/attribution.md.
"""
