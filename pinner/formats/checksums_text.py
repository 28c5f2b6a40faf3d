"""Human report of ``pinner checksums``: what was hashed, what is mutable, what stays a template.

The manifest itself is machine-facing JSON (:mod:`pinner.core.manifest`); this report goes to
stderr so ``pinner checksums > manifest.json`` stays clean. Every string that came from a
remote file passes through :func:`pinner.sanitize.for_terminal`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pinner.core.checksums import (
    Coverage,
    DigestAlarm,
    HashFailure,
    HashOutcome,
    Mismatch,
    VerifyOutcome,
)
from pinner.core.downloads import DownloadSite
from pinner.core.manifest import ManifestEntry
from pinner.formats.style import paint as _paint
from pinner.sanitize import for_terminal


def _where(site: DownloadSite) -> str:
    return f"{site.origin}: {site.file}:{site.line}"


def report(
    *,
    entries: Sequence[ManifestEntry],
    templates: Sequence[DownloadSite],
    failures: Sequence[HashFailure],
    alarms: Sequence[DigestAlarm],
    notes: Sequence[str],
    color: bool,
) -> str:
    """The summary printed after hashing."""
    out: list[str] = []
    for alarm in alarms:
        out.append(
            _paint("ALARM", "error", color)
            + f": {for_terminal(alarm.url, single_line=True)}: GitHub records {alarm.expected}"
            f" but the download is {alarm.actual}"
        )
    for failure in failures:
        out.append(
            _paint("error", "failure", color)
            + f": {for_terminal(failure.url, single_line=True)}: "
            + for_terminal(failure.reason, single_line=True)
        )
    for entry in entries:
        if entry.mutable:
            first = entry.found_in[0] if entry.found_in else None
            where = f" ({first.origin}: {first.file}:{first.line})" if first else ""
            out.append(
                _paint("mutable", "warning", color)
                + f": {for_terminal(entry.url, single_line=True)}{for_terminal(where)}: "
                + ", ".join(entry.mutable_reasons)
            )
    for site in templates:
        out.append(
            "template: "
            + for_terminal(site.template, single_line=True)
            + f" ({for_terminal(_where(site))}): unresolved "
            + ", ".join(for_terminal(u, single_line=True) for u in site.unresolved)
        )
    for note in notes:
        out.append("note: " + for_terminal(note, single_line=True))
    mutable = sum(1 for e in entries if e.mutable)
    out.append(
        f"{len(entries)} downloads hashed, {mutable} mutable, {len(templates)} templates left, "
        f"{len(failures)} failed, {len(alarms)} digest alarms"
    )
    return "\n".join(out) + "\n"


def verify_report(outcome: VerifyOutcome, coverage: Coverage | None, *, color: bool) -> str:
    """The ``--verify`` report; ``coverage`` when PATHs were given to compare with."""
    out: list[str] = []
    for m in outcome.mismatches:
        out.append(_format_mismatch(m, color))
    for failure in outcome.failures:
        out.append(
            _paint("error", "failure", color)
            + f": {for_terminal(failure.url, single_line=True)}: "
            + for_terminal(failure.reason, single_line=True)
        )
    missing = coverage.missing if coverage is not None else ()
    for uncovered in missing:
        first = uncovered.found_in[0]
        out.append(
            _paint("MISSING", "error", color)
            + f": {for_terminal(uncovered.url, single_line=True)} "
            + for_terminal(f"({first.origin}: {first.file}:{first.line})", single_line=True)
            + ": downloaded but not in the manifest"
        )
    for url in coverage.stale if coverage is not None else ():
        out.append(
            f"note: {for_terminal(url, single_line=True)}: in the manifest, but nothing found "
            "downloads it any more"
        )
    verdict = "OK" if outcome.ok and not missing else "FAILED"
    summary = (
        f"verify {verdict}: {outcome.checked} checked, {len(outcome.mismatches)} mismatched, "
        f"{len(outcome.failures)} could not be downloaded"
    )
    if coverage is not None:
        summary += f", {len(missing)} missing from the manifest"
    out.append(summary)
    return "\n".join(out) + "\n"


def withheld(path: Path, outcome: HashOutcome) -> str:
    """Why ``--write FILE`` wrote nothing (the last line of the report)."""
    reasons = []
    if outcome.failures:
        reasons.append(f"{len(outcome.failures)} download(s) failed")
    if outcome.alarms:
        reasons.append(f"{len(outcome.alarms)} digest alarm(s)")
    return (
        f"pinner: {' and '.join(reasons)}: {for_terminal(str(path), single_line=True)} was not "
        "written (a manifest already there is unchanged)\n"
    )


def _format_mismatch(m: Mismatch, color: bool) -> str:
    size = (
        "" if m.expected_size == m.actual_size else f", size {m.expected_size} -> {m.actual_size}"
    )
    return (
        _paint("MISMATCH", "error", color)
        + f": {for_terminal(m.url, single_line=True)}: expected sha256 {m.expected_sha256}, got "
        f"{m.actual_sha256}{size}"
    )
