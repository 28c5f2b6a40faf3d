"""How many questions one batched GraphQL request carries (see :mod:`pinner.forge.graphql`).

A module of its own, importing nothing, so that code which only needs the sizes does not import
the HTTP stack: the listing prefetch sends repositories in chunks of one batch, and it runs on
``--snapshot`` too, where no request is ever made (httpx and the forge clients are about a
tenth of a second of imports there).
"""

REPOS_PER_QUERY = 20
"""Ref listings per query: 20 repositories x 2 pages of 100 refs keep a response well under
GitHub's node limit and its ten-second query timeout."""

OBJECTS_PER_QUERY = 50
"""Commit/tag lookups per query: each is a handful of scalar fields."""

COMPARES_PER_QUERY = 50
"""Comparisons per query (``Ref.compare`` under aliases): a commit against 50 refs in one
request, so a repository with 111 distinct ref commits is checked in three. Each comparison
walks history on GitHub's side; 50 keeps a query well inside its ten-second timeout."""
