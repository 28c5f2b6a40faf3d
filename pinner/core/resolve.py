"""Resolve ``owner/repo[/path]@ref`` to the commit GitHub would run, as design.md section 3 says.

- A symbolic ref resolves **tag first, then branch** (git's precedence, and what GitHub documents
  for reusable workflows). A name that is both is resolved to the tag and flagged ``ambiguous``
  (ref confusion), never silently.
- Annotated tags are peeled to the commit, through tags of tags: a tag-object SHA is never a pin.
- A 40-hex ref is a commit when the forge knows it; a SHA that is an annotated tag *object* is
  reported as such (kind ``tag-object``) and peeled.
- One ref listing per repository serves every use of it: listings are fetched once
  (single-flight per case-folded ``owner/repo``) and shared between concurrent resolutions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pinner.core.versions import best_version_tag
from pinner.errors import NotFoundError
from pinner.forge.base import Forge
from pinner.models import ANY_CASE_SHA_RE, ActionRef, GitRef, RefListing
from pinner.singleflight import SingleFlight

_SHORT_SHA_RE = re.compile(r"^[0-9a-fA-F]{7,39}$")
_MAX_TAG_DEPTH = 16  # tags of tags of tags: git allows it, nobody sane nests deeper


@dataclass(frozen=True, slots=True)
class Resolution:
    """What a ``uses:`` reference names, resolved against one ref listing."""

    action: ActionRef
    commit: str  # 40-hex commit (annotated tags peeled; never a tag-object SHA)
    kind: str  # "tag" | "branch" | "sha" | "tag-object" (SHA of a tag object, peeled)
    ref: GitRef | None  # the tag/branch the ref named (None for a commit SHA)
    version: GitRef | None  # best_version_tag at commit (for the comment)
    ambiguous: bool  # a tag and a branch share the ref's name (ref confusion)
    listing: RefListing

    @property
    def is_tip(self) -> bool:
        """True when some branch or tag points at the commit (no reachability check needed)."""
        return bool(self.listing.at_commit(self.commit))

    @property
    def needs_containment(self) -> bool:
        """A SHA the user wrote (a commit, or an annotated tag object peeled to its commit)
        whose commit no branch or tag points at: only the containment check
        (:func:`pinner.core.verify.check_reachability`) can say it is the repository's.

        Why the tag object too: GitHub serves a fork's tag objects under the parent's name like
        its commits, so a tag object nobody listed proves nothing about the commit it peels to.
        """
        return self.kind in ("sha", "tag-object") and not self.is_tip

    @property
    def comment(self) -> str | None:
        """What the ``# ...`` after the pin should say: the branch name for a branch pin (it
        says the pin came from a moving ref, design.md section 3), else the version tag."""
        if self.kind == "branch" and self.ref is not None:
            return self.ref.short
        if self.version is not None:
            return self.version.short
        return None


class Resolver:
    """Resolves action references through one :class:`Forge`, one listing per repository."""

    def __init__(self, forge: Forge) -> None:
        self._forge = forge
        self._listings: SingleFlight[str, RefListing] = SingleFlight()

    async def listing(self, repo: str) -> RefListing:
        """The ref listing of ``owner/repo``; concurrent callers share one request.

        Failures are shared too: a missing repository is asked about once per run.
        """
        return await self._listings.get(repo.lower(), lambda: self._forge.list_refs(repo))

    async def resolve(self, action: ActionRef) -> Resolution:
        """Resolve one reference; NotFoundError when its repository, ref or commit is missing."""
        listing = await self.listing(action.slug)
        ref = action.ref
        if ANY_CASE_SHA_RE.match(ref):
            return await self._resolve_sha(action, listing, ref.lower())
        tag, branch, name = self._lookup(action, listing)
        if tag is None and branch is None:
            raise NotFoundError(self._missing_ref_message(action, name))
        chosen = tag if tag is not None else branch
        assert chosen is not None
        return Resolution(
            action=action,
            commit=chosen.commit,
            kind="tag" if tag is not None else "branch",
            ref=chosen,
            version=best_version_tag(
                listing, chosen.commit, prefer=name if tag is not None else None, path=action.path
            ),
            ambiguous=tag is not None and branch is not None,
            listing=listing,
        )

    @staticmethod
    def _lookup(action: ActionRef, listing: RefListing) -> tuple[GitRef | None, GitRef | None, str]:
        """The tag and branch a symbolic ref could mean, and the bare name it used."""
        ref = action.ref
        if ref.startswith("refs/tags/"):
            if action.is_reusable_workflow:
                raise NotFoundError(f"{action}: reusable workflows do not accept refs/tags/ refs")
            return listing.tag(ref[len("refs/tags/") :]), None, ref[len("refs/tags/") :]
        if ref.startswith("refs/heads/"):
            if action.is_reusable_workflow:
                raise NotFoundError(f"{action}: reusable workflows do not accept refs/heads/ refs")
            return None, listing.branch(ref[len("refs/heads/") :]), ref[len("refs/heads/") :]
        return listing.tag(ref), listing.branch(ref), ref

    @staticmethod
    def _missing_ref_message(action: ActionRef, name: str) -> str:
        if _SHORT_SHA_RE.match(name):
            return (
                f"{action}: no tag or branch {name!r} in {action.slug} "
                "(short SHAs are not accepted by GitHub; use the full 40-hex commit)"
            )
        return f"{action}: no tag or branch {name!r} in {action.slug}"

    async def _resolve_sha(self, action: ActionRef, listing: RefListing, sha: str) -> Resolution:
        tip = _tip(listing, sha)
        if tip is not None:
            return Resolution(
                action=action,
                commit=sha,
                kind="sha",
                ref=None,
                version=best_version_tag(listing, sha, path=action.path),
                ambiguous=False,
                listing=listing,
            )
        tag_ref = next((r for r in listing.tags if r.object == sha and r.annotated), None)
        if tag_ref is not None:
            return self._tag_object(action, listing, tag_ref.commit, tag_ref)
        try:
            commit = await self._forge.get_commit(action.slug, sha)
        except NotFoundError:
            commit = None
        if commit is not None and commit.sha.lower() == sha:
            return Resolution(
                action=action,
                commit=sha,
                kind="sha",
                ref=None,
                version=None,  # no tag points at it (not a tip): nothing truthful to name
                ambiguous=False,
                listing=listing,
            )
        peeled = await self._peel_tag_object(action, sha)
        if peeled is None:
            raise NotFoundError(f"{action}: commit {sha} does not exist in {action.slug}")
        return self._tag_object(action, listing, peeled, None)

    async def _peel_tag_object(self, action: ActionRef, sha: str) -> str | None:
        """The commit a (possibly nested) tag object ``sha`` points at, or None if not a tag."""
        current = sha
        for _ in range(_MAX_TAG_DEPTH):
            try:
                obj = await self._forge.get_tag_object(action.slug, current)
            except NotFoundError:
                return None
            if obj.object_type == "commit":
                return obj.object_sha.lower()
            if obj.object_type != "tag":
                return None  # a tag of a tree or blob: not something an action can run
            current = obj.object_sha.lower()
        return None

    @staticmethod
    def _tag_object(
        action: ActionRef, listing: RefListing, commit: str, tag_ref: GitRef | None
    ) -> Resolution:
        return Resolution(
            action=action,
            commit=commit,
            kind="tag-object",
            ref=tag_ref,
            version=best_version_tag(
                listing, commit, prefer=tag_ref.short if tag_ref else None, path=action.path
            ),
            ambiguous=False,
            listing=listing,
        )


def _tip(listing: RefListing, sha: str) -> GitRef | None:
    """A tag or branch whose peeled commit is ``sha`` (tags first: they do not move)."""
    at = listing.at_commit(sha)
    return next((r for r in at if r.is_tag), at[0] if at else None)
