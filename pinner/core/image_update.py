"""``pinner update`` for container images: move digests when tags move, and tags when allowed.

An image pinned as ``python:3.12@sha256:<old>`` goes stale every time ``3.12`` is rebuilt (new
security fixes, same tag). Update moves it, like an action's pin, under the same policy:

* **the tag moved**: the digest moves to what the tag names now, once that image is older
  than the cooldown;
* **a newer tag** (``--bump`` allowing): ``3.12`` -> ``3.13``, ``1.2.3-alpine`` -> ``1.3.0-alpine``:
  only tags of the same shape (same ``v`` prefix, same number of version components, same
  suffix such as ``-alpine`` or ``-slim``), so a variant never turns into another;
* **unpinned** (``IMAGE:TAG``): pinned to the digest of the newest eligible tag.

An image's age is its own word, the OCI ``org.opencontainers.image.created`` annotation or the
config's ``created`` (reproducible builds stamp 1970: that counts as no date), else the first
time pinner saw the digest (recorded in the cache): a cooldown always has a start. Changes and
held-back records are :mod:`pinner.core.update`'s own, so reports, JSON and PR texts list images
beside actions.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from pinner.core.images import ImageTarget, inspect
from pinner.core.update import (
    Change,
    HeldBack,
    Location,
    Outcome,
    Skipped,
    UpdatePolicy,
    VersionPoint,
    age_days,
    locations_of,
)
from pinner.errors import NotFoundError, RemoteError
from pinner.registry.names import TAG_RE, ImageNameError, ImageRef, parse_image

if TYPE_CHECKING:
    from pinner.registry.client import ImageDate, RegistryClient

_TAG_VERSION_RE = re.compile(
    r"^(?P<prefix>[vV]?)(?P<numbers>\d+(?:\.\d+){0,3})(?P<suffix>.*)$", re.ASCII | re.DOTALL
)


@dataclass(frozen=True, slots=True)
class TagVersion:
    """A tag read as a version: ``v`` prefix, numbers, and the suffix naming the variant."""

    prefix: str
    numbers: tuple[int, ...]
    suffix: str

    @property
    def family(self) -> tuple[str, int, str]:
        """Tags of one family can replace each other: ``3.12-slim`` and ``3.13-slim``."""
        return (self.prefix.lower(), len(self.numbers), self.suffix)


def parse_tag(tag: str) -> TagVersion | None:
    """``3.12-alpine`` -> (``""``, (3, 12), ``-alpine``); None for ``latest``, ``main``..."""
    match = _TAG_VERSION_RE.match(tag)
    if match is None:
        return None
    suffix = match.group("suffix")
    if suffix[:1].isdigit():
        return None  # "1.2.3.4.5": more components than any version scheme uses
    numbers = tuple(int(n) for n in match.group("numbers").split("."))
    return TagVersion(match.group("prefix"), numbers, suffix)


def tag_level(old: TagVersion, new: TagVersion) -> str | None:
    """Which semver level a move between two tags of one family crosses."""
    for index, level in enumerate(("major", "minor", "patch")):
        a = old.numbers[index] if index < len(old.numbers) else 0
        b = new.numbers[index] if index < len(new.numbers) else 0
        if a != b:
            return level
    return "patch" if old.numbers != new.numbers else None


def within(old: TagVersion, new: TagVersion, bump: str) -> bool:
    if bump == "major":
        return True
    keep = 1 if bump == "minor" else 2
    return old.numbers[:keep] == new.numbers[:keep] and len(old.numbers) > keep - 1


ImageUpdates = Outcome
"""What update decided for the images: the same records as for actions."""


class ImageUpdater:
    """Plans image updates against one registry client under one policy."""

    def __init__(self, registry: RegistryClient, policy: UpdatePolicy) -> None:
        self.registry = registry
        self.policy = policy

    async def plan(self, targets: list[ImageTarget]) -> ImageUpdates:
        groups: dict[tuple[str, str], list[ImageTarget]] = {}
        for target in targets:
            groups.setdefault((target.prefix, target.image), []).append(target)
        outcomes = await asyncio.gather(*(self._analyse(g) for g in groups.values()))
        return ImageUpdates(
            tuple(c for o in outcomes for c in o.changes),
            tuple(h for o in outcomes for h in o.held_back),
            tuple(s for o in outcomes for s in o.skipped),
        )

    async def _analyse(self, targets: list[ImageTarget]) -> ImageUpdates:
        first = targets[0]
        locations = locations_of(targets)
        if "$" in first.image:
            reason = f"{first.unpinnable or 'an expression'}: cannot be updated statically"
            return ImageUpdates(skipped=(Skipped(first.image, reason, locations),))
        try:
            ref = parse_image(first.image)
        except ImageNameError as exc:
            return _problem(first.image, f"invalid image reference: {exc}", locations)
        facts = await inspect(self.registry, ref)
        if facts.remote is not None:
            raise RemoteError(facts.remote)
        if facts.error is not None:
            return _problem(first.image, facts.error, locations)
        if facts.digest_found is False:
            return _problem(
                first.image, f"{ref.digest} is not an image of {ref.repository}", locations
            )
        writable = [t for t in targets if t.site is not None and t.unpinnable is None]
        if not writable:
            reason = first.unpinnable or "not written in one piece: cannot be rewritten"
            return ImageUpdates(skipped=(Skipped(first.image, reason, locations),))
        tag = ref.effective_tag
        old = VersionPoint(ref=_short(ref), version=tag, sha=None, digest=ref.digest)
        held: dict[str, HeldBack] = {}
        try:
            newer = await self._newer_tags(ref, tag, held, old, locations)
            for candidate_tag, level in newer:
                info = await self.registry.resolve(ref.with_tag(candidate_tag))
                date = await self.registry.image_date(ref, info.digest)
                if self._eligible(ref, date, level):
                    change = self._change(
                        ref, writable, old, candidate_tag, info.digest, level, date
                    )
                    return ImageUpdates(changes=(change,), held_back=tuple(held.values()))
                if "cooldown" not in held:
                    held["cooldown"] = self._held(
                        ref, "cooldown", old, candidate_tag, info.digest, level, date, locations
                    )
        except NotFoundError as exc:  # a tag listed but gone a moment later, a denied list
            return _problem(first.image, str(exc), locations)
        current = facts.current
        if current is None:
            reason = f"tag {tag} no longer exists in {ref.repository}; nothing to move to"
            return ImageUpdates(
                held_back=tuple(held.values()),
                skipped=(Skipped(first.image, reason, locations),),
            )
        if current.digest == ref.digest:
            return ImageUpdates(held_back=tuple(held.values()))
        date = await self.registry.image_date(ref, current.digest)
        if self._eligible(ref, date, None):
            change = self._change(ref, writable, old, tag, current.digest, None, date)
            return ImageUpdates(changes=(change,), held_back=tuple(held.values()))
        held.setdefault(
            "cooldown",
            self._held(ref, "cooldown", old, tag, current.digest, None, date, locations),
        )
        skipped: tuple[Skipped, ...] = ()
        if ref.digest is None:
            reason = "no eligible image to pin to (held back by cooldown)"
            skipped = (Skipped(first.image, reason, locations),)
        return ImageUpdates(held_back=tuple(held.values()), skipped=skipped)

    async def _newer_tags(
        self,
        ref: ImageRef,
        tag: str,
        held: dict[str, HeldBack],
        old: VersionPoint,
        locations: tuple[Location, ...],
    ) -> list[tuple[str, str | None]]:
        """Tags of the same family newer than ``tag``, within ``--bump``, newest first; the
        newest one beyond ``--bump`` is recorded as held back."""
        current = parse_tag(tag)
        if current is None:
            return []
        found: list[tuple[TagVersion, str]] = []
        for name in await self.registry.list_tags(ref):
            if not TAG_RE.match(name):
                continue  # a registry's list is remote text: only real tag names are written
            version = parse_tag(name)
            if version is None or version.family != current.family:
                continue
            if version.numbers > current.numbers:
                found.append((version, name))
        found.sort(key=lambda item: item[0].numbers, reverse=True)
        out: list[tuple[str, str | None]] = []
        for version, name in found:
            level = tag_level(current, version)
            if within(current, version, self.policy.bump):
                out.append((name, level))
            elif "bump" not in held:
                held["bump"] = self._held(ref, "bump", old, name, None, level, None, locations)
        return out

    def _eligible(self, ref: ImageRef, date: ImageDate, level: str | None) -> bool:
        wait = self.policy.cooldown.for_update(ref.familiar, level)
        if wait <= timedelta(0):
            return True  # no cooldown: an image without any date is as good as any
        return date.at is not None and date.at + wait <= self.policy.now

    def _change(
        self,
        ref: ImageRef,
        targets: list[ImageTarget],
        old: VersionPoint,
        tag: str,
        digest: str,
        level: str | None,
        date: ImageDate,
    ) -> Change:
        new = VersionPoint(ref=f"{tag}@{digest}", version=tag, sha=None, digest=digest)
        age = age_days(self.policy.now, date.at)
        if tag != ref.effective_tag:
            note = f"newer tag {tag} ({level} update)"
        elif ref.digest is None:
            note = f"pinned to the image tag {tag} names now"
        else:
            note = f"tag {tag} now names a new image (rebuilt); the digest moves with it"
        if date.source == "first-seen":
            note += (
                "; the image has no build date: the cooldown counted from when pinner first saw it"
            )
        return Change(
            action=ref.name,
            repo=ref.repository,
            kind="image",
            level=level,
            old=old,
            new=new,
            value=targets[0].prefix + ref.pinned(digest, tag),
            comment=None,
            locations=locations_of(targets),
            released_at=date.at,
            date_source=date.source,
            age_days=age,
            release_url=None,
            compare_url=None,
            mutable=False,
            immutable_release=False,
            note=note,
            images=tuple(targets),
        )

    def _held(
        self,
        ref: ImageRef,
        reason: str,
        old: VersionPoint,
        tag: str,
        digest: str | None,
        level: str | None,
        date: ImageDate | None,
        locations: tuple[Location, ...],
    ) -> HeldBack:
        eligible_at = None
        wait = None
        if reason == "cooldown":
            wait = self.policy.cooldown.for_update(ref.familiar, level)
            if date is not None and date.at is not None:
                eligible_at = date.at + wait
        candidate_ref = f"{tag}@{digest}" if digest else tag
        return HeldBack(
            action=ref.name,
            repo=ref.repository,
            reason=reason,
            old=old,
            candidate=VersionPoint(ref=candidate_ref, version=tag, sha=None, digest=digest),
            level=level,
            released_at=date.at if date is not None else None,
            date_source=date.source if date is not None else "unknown",
            eligible_at=eligible_at,
            cooldown=wait,
            release_url=None,
            locations=locations,
        )


def _short(ref: ImageRef) -> str:
    """``3.12@sha256:...`` or ``3.12``: the tag and digest as the image is written."""
    tag = ref.tag or "latest"
    return f"{tag}@{ref.digest}" if ref.digest else tag


def _problem(image: str, reason: str, locations: tuple[Location, ...]) -> ImageUpdates:
    return ImageUpdates(skipped=(Skipped(image, reason, locations, problem=True),))
