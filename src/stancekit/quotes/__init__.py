"""Quote stage: find what was said (content), the words that report it (cue) and who said it (speaker).

The ``stancekit_quotes`` spaCy component runs after ``stancekit_entities`` and writes plain dicts to
``doc._.stancekit_quotes``. The package holds one module per kind of quote and a short orchestrator:

* :mod:`.component`: :func:`~.component.find_quotes`, the steps below in order, and the spaCy component
  (``predict`` / ``set_annotations``);
* :mod:`.direct`: direct quotes and their cues; :mod:`.indirect`: indirect and mixed quotes;
  :mod:`.transcripts`: transcript layouts; :mod:`.model`: the quote record, the cue lexicon, settings
  and the per-Doc context the patterns share;
* shared with other stages: :mod:`stancekit.quotemarks` (pairing marks), :mod:`stancekit.syntax`
  (token helpers), :mod:`stancekit.headlines` (headlines), :mod:`stancekit.speakers` (the resolver).

The algorithm, step by step:

1. pair quotation marks over the raw text, paragraph-aware (a paragraph that ends inside a quote and
   the next one reopens it is one quote; a stray mark is skipped with a warning, never an exception);
2. a quoted span that is a clause or sentence is a *direct* quote; its cue is a reporting verb in the
   text around it in the same sentence ("…,” she said on Monday", "He went on: “…”") or a layout
   cue ("Name: “…”", "“…” - Name"); without a cue it continues the previous speaker's quote;
3. reporting verbs with a clause ("X argued that …"), "according to X" and position verbs
   ("X backs Y") give *indirect* quotes; when such a clause holds a short quoted phrase the quote is
   *mixed*. A verb's bare noun-phrase object ("echoed the criticism") is no quote: the object counts
   only when it carries a proposition or names the target of a position verb;
3b. a transcript layout (``SMITH:``, ``MR. SMITH:``, ``Q:``/``A:`` lines) makes each line a direct
   quote of its tag's speaker (:func:`transcript_turns`); a participial cue ("Calling the plan
   “a giveaway,” Ruiz said …") and a cue that opens the next paragraph and points back ("Ruiz said
   that on Monday.") attribute the quote before them;
3c. the title (``doc._.stancekit_title``, set by :func:`stancekit.headlines.apply_title_span`) holds no
   quote and no speaker mention;
4. speakers are resolved (:mod:`stancekit.speakers`) to a canonical entity with a role.
"""

from ..quotemarks import MAX_QUOTE_CHARS, QUOTE_CHARS, QuoteSpan, pair_quote_marks
from ..headlines import apply_title_span, in_title, marked_title
from .component import QuoteFinder, QuotePrediction, find_quotes, make_quote_finder
from .model import Context, CueLexicon, Quote, QuoteSettings
from .transcripts import Turn, transcript_turns

# the title as marked on the Doc (no guess): the quote stage's view of it
title_range = marked_title

__all__ = ["MAX_QUOTE_CHARS", "QUOTE_CHARS", "Context", "CueLexicon", "Quote", "QuoteFinder", "QuotePrediction",
           "QuoteSettings", "QuoteSpan", "Turn", "apply_title_span", "find_quotes", "in_title", "make_quote_finder",
           "marked_title", "pair_quote_marks", "title_range", "transcript_turns"]
