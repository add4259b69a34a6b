"""What the quote patterns share: the quote record, the cue lexicon, the settings and one Doc's context."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from spacy.tokens import Doc, Token

from ..quotemarks import QuoteSpan, RangeIndex
from ..resources import cues, doc_text
from ..speakers import SpeakerResolver


@dataclass
class Quote:
    """One quote as the patterns find it; :meth:`to_dict` is the record ``doc._.stancekit_quotes`` holds."""

    text: str
    start: int
    end: int
    kind: str
    cue: dict | None
    speaker: dict | None
    confidence: float = 0.0
    marks: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class CueLexicon:
    """Cue lemmas by role (``configs``' ``cues.toml``, see :func:`stancekit.resources.cues`)."""

    speech: frozenset
    belief: frozenset
    according: frozenset
    intent: frozenset = frozenset()
    object: frozenset = frozenset()
    nouns: frozenset = frozenset()
    # position verbs: a bare noun-phrase object is the position ("X backs the plan")
    position: frozenset = frozenset()

    @classmethod
    def default(cls) -> "CueLexicon":
        c = cues()
        return cls(speech=frozenset(c["speech"]), belief=frozenset(c["belief"]),
                   according=frozenset(c["according"]), intent=frozenset(c.get("intent", ())),
                   object=frozenset(c.get("object", ())), nouns=frozenset(c.get("nouns", ())),
                   position=frozenset(c.get("position", ())))

    def without(self, lemma: str) -> "CueLexicon":
        """The lexicon without one verb in its verb lists (for ablations)."""
        return CueLexicon(self.speech - {lemma}, self.belief - {lemma}, self.according, self.intent - {lemma},
                          self.object - {lemma}, self.nouns, self.position)

    def lemma(self, tok: Token) -> str:
        """The verb's lemma, repaired where the rule lemmatizer drops a final "e" that a cue has
        ("hoped", "hoping" → "hop": the cue is "hope")."""
        lemma = tok.lemma_.lower()
        if tok.tag_ in ("VBD", "VBG", "VBN") and not self.is_cue_lemma(lemma) and \
                self.is_cue_lemma(lemma + "e") and tok.lower_.startswith(lemma) and tok.lower_[len(lemma):] in ("ed", "ing"):
            return lemma + "e"
        return lemma

    def is_cue(self, tok: Token) -> bool:
        """A verb (or auxiliary) whose lemma reports speech or belief."""
        if tok.pos_ not in ("VERB", "AUX") and tok.tag_ not in ("VBD", "VBZ", "VBP", "VBG", "VBN", "VB"):
            return False
        lemma = self.lemma(tok)
        if lemma == "put":  # "as she put it"
            return any(c.dep_ == "dobj" and c.lower_ == "it" for c in tok.children) and \
                any(c.dep_ in ("mark", "advmod", "prep") and c.lower_ == "as" for c in tok.children)
        return lemma in self.speech or lemma in self.belief

    def is_cue_lemma(self, lemma: str) -> bool:
        """A lemma that can introduce an indirect quote (speech, belief, intent, object or position verbs)."""
        return (lemma in self.speech or lemma in self.belief or lemma in self.intent or lemma in self.object
                or lemma in self.position)


@dataclass
class QuoteSettings:
    """The quote component's options; the pattern switches exist for ablations."""

    indirect: bool = True
    max_cue_distance: int = 12
    continuation_chars: int = 600
    transcripts: bool = True  # transcript layout (see :func:`transcript_turns`)
    participial: bool = True  # "Calling the plan “…,” X said" (see :func:`direct.participial`)
    back_reference: bool = True  # "“…”\n\nX said that on Monday." (see :func:`direct.cue_next_paragraph`)
    object_needs_proposition: bool = True  # see :func:`indirect.carries_proposition`
    labelled_lines: bool = True  # "Name: what was said" lines, headlines too (see :mod:`.labelled`)


@dataclass
class Context:
    """One Doc as the patterns see it: its text and title, the speaker resolver, the cue lexicon and
    settings, and what earlier patterns found (transcript lines, the quoted phrases left to the
    indirect patterns, the character ranges already taken, back-reference cues already used)."""

    doc: Doc
    text: str
    title: tuple[int, int] | None
    resolver: SpeakerResolver
    lexicon: CueLexicon
    settings: QuoteSettings
    turns: RangeIndex = field(default_factory=RangeIndex)
    partial: list[QuoteSpan] = field(default_factory=list)
    taken: list[tuple[int, int]] = field(default_factory=list)
    backrefs: set[int] = field(default_factory=set)

    def free(self, a: int, b: int) -> bool:
        """Is [a, b) outside every transcript line and every range taken so far?"""
        return not self.turns.overlaps(a, b) and all(b <= s or a >= e for s, e in self.taken)

    def kind_of(self, a: int, b: int) -> str:
        """The kind of a reported content [a, b): ``direct`` when one quoted phrase is all of it (marks
        included), ``mixed`` when quoted phrases are part of it, else ``indirect``."""
        inside = [p for p in self.partial if a <= p.open_at and p.close_at < b]
        if len(inside) == 1 and inside[0].open_at == a and inside[0].close_at == b - 1:
            return "direct"
        return "mixed" if inside else "indirect"


def cue_dict(verb: Token) -> dict:
    """The cue with its auxiliaries and negation ("has said", "did not say")."""
    doc = verb.doc
    parts = [verb] + [c for c in verb.children if c.dep_ in ("aux", "neg") and c.i < verb.i
                      and verb.i - c.i <= 3]
    parts += [c for c in verb.children if c.dep_ == "prt" and c.i == verb.i + 1]
    lo = min(t.i for t in parts)
    hi = max(t.i for t in parts)
    if any(doc[k].is_punct for k in range(lo, hi + 1)):
        lo, hi = verb.i, verb.i
    a, b = doc[lo].idx, doc[hi].idx + len(doc[hi])
    return {"text": doc_text(doc)[a:b], "start": a, "end": b}
