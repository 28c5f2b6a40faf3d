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

from pinner.errors import RemoteError
from pinner.forge.graphql import GraphQLClient, ask_repositories, repositories_query
from pinner.models import RepoInfo

REPO_FRAGMENT = """
fragment Repo on Repository {
  databaseId
  nameWithOwner
  isArchived
  url
  defaultBranchRef { name }
  owner { login ... on Organization { databaseId } ... on User { databaseId } }
}
"""


def repos_query(repos: Sequence[str]) -> tuple[str, dict[str, str]]:
    """The query (and its variables) asking for every repository's metadata, aliased ``r0``..."""
    return repositories_query("Repos", "Repo", REPO_FRAGMENT, repos)


async def get_repos_many(client: GraphQLClient, repos: Sequence[str]) -> dict[str, RepoInfo | None]:
    """:class:`RepoInfo` of each ``owner/name`` in ``repos``; None where REST must answer."""
    what = f"metadata of {len(repos)} repositories"
    return await ask_repositories(client, repos, repos_query(repos), what, parse_repo_node)


def parse_repo_node(repo: str, node: object) -> RepoInfo | None:
    """One ``...Repo`` answer for ``repo``; None when it lacks what REST would give (an empty
    repository has no default branch, an id GitHub withholds): REST then answers."""
    try:
        if not isinstance(node, dict):
            raise TypeError(type(node).__name__)
        owner = node["owner"]
        default = node["defaultBranchRef"]
        repo_id, owner_id = node["databaseId"], owner.get("databaseId")
        name, url, archived = node["nameWithOwner"], node["url"], node["isArchived"]
        if not (isinstance(name, str) and name.count("/") == 1 and isinstance(url, str)):
            raise TypeError("nameWithOwner")
        if not isinstance(archived, bool):
            raise TypeError("isArchived")
    except (KeyError, TypeError, AttributeError) as exc:
        where = f"{exc!s:.60}"
        raise RemoteError(f"metadata of {repo}: malformed GraphQL answer near {where}") from None
    ids_ok = all(type(v) is int and v > 0 for v in (repo_id, owner_id))
    if default is None or not isinstance(default.get("name"), str) or not ids_ok:
        return None
    return RepoInfo(
        full_name=name,
        default_branch=default["name"],
        html_url=url,
        archived=archived,
        repo_id=repo_id,
        owner_id=owner_id,
    )
