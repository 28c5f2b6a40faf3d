"""Repository metadata (ids, current name, default branch) for many repositories per GraphQL query.

Why: ``pinner lock`` records, for every repository in the action graph, the owner and
repository ids GitHub's runner checks (``owner_id``, ``repo_id``), and verifies them on every
run. Over REST that is one ``GET /repos/{owner}/{repo}`` per repository; here one query carries
:data:`~pinner.forge.batch_sizes.REPOS_PER_QUERY` of them (``databaseId`` is the same number
as REST's ``id``).

GraphQL follows renames (``repository(owner:, name:)`` answers for the old name with the
current ``nameWithOwner``), as REST follows its ``301``. Whatever GraphQL cannot answer (no
token, a repository it cannot see, an error on that alias, a missing id) is ``None``: the
caller asks REST, which says in its own words whether the repository exists.
"""

from __future__ import annotations

from collections.abc import Sequence

from pinner.forge.graphql import (
    REPO_FRAGMENT,
    GraphQLClient,
    ask_repositories,
    parse_repo_node,
    repositories_query,
)
from pinner.models import RepoInfo


def repos_query(repos: Sequence[str]) -> tuple[str, dict[str, str]]:
    """The query (and its variables) asking for every repository's metadata, aliased ``r0``..."""
    return repositories_query("Repos", "Repo", REPO_FRAGMENT, repos)


async def get_repos_many(client: GraphQLClient, repos: Sequence[str]) -> dict[str, RepoInfo | None]:
    """:class:`RepoInfo` of each ``owner/name`` in ``repos``; None where REST must answer."""
    what = f"metadata of {len(repos)} repositories"
    return await ask_repositories(client, repos, repos_query(repos), what, parse_repo_node)
