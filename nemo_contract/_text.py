"""Reading words without reading what is quoted: titles, labels and file names are never keywords.

Both the routing of the user's words ("add a title \"Export Ready\"" is an edit, not an export) and the reading of
the backend's replies ("Added the title \"Drag Race\"" is news, not a drag instruction) look at text whose quoted
phrases are masked: same length, so a position found in the masked text is the same position in the original.
"""

from __future__ import annotations

import re

__all__ = ["QUOTE_PAIRS", "mask_quotes"]

#: Opening and closing marks of a quoted phrase: straight and curly double quotes, curly single quotes, and the
#: CJK corner brackets. A straight single quote counts only where it cannot be an apostrophe (see below).
QUOTE_PAIRS: tuple[tuple[str, str], ...] = (('"', '"'), ("“", "”"), ("‘", "’"), ("「", "」"), ("『", "』"))

_QUOTED = re.compile(
    "|".join(f"{re.escape(o)}[^{re.escape(c)}\\n]*{re.escape(c)}" for o, c in QUOTE_PAIRS)
    + r"|(?<!\w)'[^'\n]+'(?!\w)"  # 'like this', but not the apostrophes of "you're" or "users' files"
)

#: What replaces each quoted character: a word character (so nothing inside reads as punctuation or a sentence
#: end) that no keyword contains.
_FILL = "_"


def mask_quotes(text: str) -> str:
    """``text`` with the inside of every quoted phrase replaced by ``_`` (the quote marks and length kept)."""
    return _QUOTED.sub(lambda m: m.group(0)[0] + _FILL * (len(m.group(0)) - 2) + m.group(0)[-1], text)
