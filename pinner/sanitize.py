"""Make remote text safe to print: repositories control action names, descriptions, tags.

A tag or description carrying ``ESC ]`` or ``ESC [`` sequences could rewrite the user's
terminal (hide lines, fake output, set the window title, on some terminals worse). Everything
that came from the network or from files passes through :func:`for_terminal` before printing.
Text that GitHub renders as markdown (pull-request bodies, SARIF help) passes through
:func:`markdown_text` instead.
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


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&])")  # & too: "&#64;" would be an "@"
_REFERENCE = re.compile(r"([@#])(?=[A-Za-z0-9])")
"""Where GitHub would see a mention (``@user``, ``@org/team``) or an issue reference (``#12``,
``owner/repo#12``) in plain text."""


def markdown_text(value: str) -> str:
    """Remote text as inert markdown: one line, printable, markdown specials escaped (no link,
    no HTML, no ``<!--`` hiding what follows), and no mention or issue reference.

    Why the last: a pull-request body is posted to GitHub; an advisory summary or a skip reason
    saying ``@someone`` would notify that person or team, and ``owner/repo#12`` would put a
    back-link into another repository's issue. A zero-width space after the ``@`` or ``#``
    (``&#8203;``) keeps the text readable and inert.
    """
    flat = "".join(ch if ch.isprintable() else " " for ch in value)
    return _REFERENCE.sub(r"\1&#8203;", _MD_SPECIAL.sub(r"\\\1", flat))
