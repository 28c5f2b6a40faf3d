"""pinner: make GitHub Actions supply chains immutable.

Pin every ``uses:`` to a full commit SHA with a truthful version comment, catch impostor
commits, audit the transitive action graph, update pins with a cooldown, and hash the
binaries actions download.
"""

__version__ = "0.1.0"
