"""Make remote text safe to print: repositories control action names, descriptions, tags.

A tag or description carrying ``ESC ]`` or ``ESC [`` sequences could rewrite the user's
terminal (hide lines, fake output, set the window title, on some terminals worse). Everything
that came from the network or from files passes through :func:`for_terminal` before printing.
"""

from __future__ import annotations

import re

# C0 controls except \t and \n, DEL, C1 controls (0x80-0x9f), Unicode bidi overrides that
# can reorder what the user sees (Trojan Source), invisible characters that make two different
# names print the same (zero-width space/joiners, word joiner, BOM) and the Unicode line and
# paragraph separators some terminals treat as newlines.
_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f\x80-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]"
)


def for_terminal(text: str, *, single_line: bool = False) -> str:
    """Replace control characters with visible escapes (``\\x1b``), keep the rest."""
    if single_line:
        text = text.replace("\n", "\\n").replace("\t", "\\t")
    return _UNSAFE.sub(
        lambda m: (
            f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}"
        ),
        text,
    )
