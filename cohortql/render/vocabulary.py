"""Fills the vocabulary look-up templates (`cohortql concepts search` and `show`) from what the user asked.

The search text reaches SQL only as bind parameters: LIKE patterns whose wildcards and escape
character are escaped here (`ESCAPE '!'` in the template), and the lowered text itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from cohortql.omop import CONCEPT_DOMAINS
from cohortql.render.renderer import SqlStatement, _Parameters, _render, _table_namer

# The longest search text: concept_name is VARCHAR(255).
MAX_SEARCH_CHARACTERS = 255
# At most this many words, each one more LIKE on every concept name.
MAX_SEARCH_WORDS = 20
# Candidates counted and ranked at most; one more is fetched to know there are more.
MAX_CANDIDATES = 10_000

_ESCAPE = "!"  # no engine reads '!' specially in a string literal (a backslash differs between them)


class SearchError(ValueError):
    """A search text that cannot be searched for (empty, too long, too many words)."""


def like_contains(word: str) -> str:
    """A LIKE pattern matching `word` anywhere, every `%`, `_` and `!` of it taken literally."""
    escaped = "".join(_ESCAPE + ch if ch in ("%", "_", _ESCAPE) else ch for ch in word)
    return f"%{escaped}%"


def search_words(text: str) -> tuple[str, ...]:
    """The search text's words, lowered: a concept's name must contain each of them."""
    if not text.strip():
        raise SearchError("the search text is empty")
    if len(text) > MAX_SEARCH_CHARACTERS:
        raise SearchError(f"the search text is longer than {MAX_SEARCH_CHARACTERS} characters")
    words = tuple(dict.fromkeys(text.lower().split()))
    if len(words) > MAX_SEARCH_WORDS:
        raise SearchError(f"the search text has more than {MAX_SEARCH_WORDS} words")
    return words


@dataclass(frozen=True)
class ConceptSearch:
    """What `cohortql concepts search` asks: checked when built, so no impossible search is rendered."""

    text: str
    domain: str | None = None  # a word of cohortql.omop.CONCEPT_DOMAINS
    vocabulary: str | None = None  # a vocabulary_id, compared case-insensitively
    standard: bool = False

    def __post_init__(self):
        search_words(self.text)
        if self.domain is not None and self.domain not in CONCEPT_DOMAINS:
            raise SearchError(f"unknown domain {self.domain!r}")

    @property
    def words(self) -> tuple[str, ...]:
        return search_words(self.text)

    @property
    def lowered(self) -> str:
        """The whole text, trimmed and lowered: what an exact code or name match compares with."""
        return " ".join(self.text.split()).lower()


def _context(cdm_schema: str | None, vocab_schema: str | None) -> dict:
    return {
        "cdm_table": _table_namer(cdm_schema),
        "vocab_table": _table_namer(vocab_schema or cdm_schema),
        "concept_domains": list(CONCEPT_DOMAINS.values()),
    }


def render_concept_search(search: ConceptSearch, cdm_schema: str | None = None,
                          vocab_schema: str | None = None) -> SqlStatement:
    """Candidates for the search (at most MAX_CANDIDATES + 1), each with its records and persons."""
    parameters = _Parameters()
    domain = CONCEPT_DOMAINS[search.domain].vocabulary_domain if search.domain else None
    sql = _render(
        "concept_search.sql.j2", parameters, **_context(cdm_schema, vocab_schema),
        code=search.lowered, words=[like_contains(w) for w in search.words], domain_id=domain,
        vocabulary=search.vocabulary.lower() if search.vocabulary else None, standard=search.standard,
        cap=MAX_CANDIDATES,
    )
    return SqlStatement(sql, parameters.values, reads_concept_sets=False)


def render_concept_show(concept_id: int, cdm_schema: str | None = None,
                        vocab_schema: str | None = None) -> SqlStatement:
    """The concept, its ancestors, descendants and 'Maps to' neighbours, each with records and persons."""
    parameters = _Parameters()
    sql = _render("concept_show.sql.j2", parameters, **_context(cdm_schema, vocab_schema), concept_id=int(concept_id))
    return SqlStatement(sql, parameters.values, reads_concept_sets=False)


def render_vocabularies(vocab_schema: str | None = None) -> SqlStatement:
    """The vocabulary ids that hold concepts (no person data)."""
    parameters = _Parameters()
    sql = _render("vocabularies.sql.j2", parameters, vocab_table=_table_namer(vocab_schema))
    return SqlStatement(sql, parameters.values, reads_concept_sets=False)
