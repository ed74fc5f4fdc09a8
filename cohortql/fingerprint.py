"""A semantic fingerprint of a plan: equal for definitions that mean the same thing.

Comments, layout, concept labels and concept-set names do not change it; any change to
concept ids, windows, counts, rules (names included: they label released numbers) does, and
so does the study metadata (title, protocol, sponsor): an approval covers one question asked
of one sponsor, so retitling it is a new question.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json

from cohortql.resolve.plan import Codeset, Plan


def _canonical(value):
    if isinstance(value, Codeset):
        # Sets are referred to by position; their names are for people only. Item order is not meaning.
        return {
            "items": sorted(json.dumps(_canonical(i), sort_keys=True) for i in value.items),
            "sources": sorted(json.dumps(_canonical(s), sort_keys=True) for s in value.sources),
        }
    if dataclasses.is_dataclass(value):
        fields = {f.name: _canonical(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return [type(value).__name__, fields]
    if isinstance(value, tuple | list):
        return [_canonical(v) for v in value]
    return value


def canonical_json(value) -> str:
    """One text per meaning, for any plan node (a codeset by its contents, not its name)."""
    return json.dumps(_canonical(value), sort_keys=True, separators=(",", ":"), default=str)


def fingerprint(plan: Plan) -> str:
    return "sha256:" + hashlib.sha256(canonical_json(plan).encode("utf-8")).hexdigest()
