"""``--format github``: workflow commands that GitHub turns into annotations on the PR diff.

``::error file=F,line=L,col=C,title=T::MESSAGE``. Values are escaped as the runner expects
(``%`` ``\\r`` ``\\n`` in the message; also ``:`` and ``,`` in properties), otherwise a message
containing a newline or ``::`` would end the command early or inject another one: remote text
(action names, refs) must never be able to emit its own workflow commands.
"""

from __future__ import annotations

from collections.abc import Iterable

from pinner.rules.base import Finding, Severity
from pinner.sanitize import for_terminal

COMMANDS = {
    Severity.HIGH: "error",
    Severity.MEDIUM: "error",
    Severity.LOW: "warning",
    Severity.INFORMATIONAL: "notice",
}


def escape_data(text: str) -> str:
    """Escape for a workflow command; terminal control characters are made visible first."""
    text = for_terminal(text)
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(finding: Finding) -> str:
    message = finding.message
    if len(finding.chain) > 1:
        message += " (via " + " -> ".join(finding.chain) + ")"
    if finding.remote:
        message += f" at {finding.remote}"
    props = ",".join(
        [
            f"file={escape_property(finding.file)}",
            f"line={finding.line}",
            f"col={finding.column}",
            f"title={escape_property(f'pinner {finding.rule} ({finding.severity.label})')}",
        ]
    )
    return f"::{COMMANDS[finding.severity]} {props}::{escape_data(message)}"


def render(findings: Iterable[Finding]) -> str:
    return "".join(annotation(f) + "\n" for f in findings)
