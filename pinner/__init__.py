"""pinner: make GitHub Actions supply chains immutable.

Pin every ``uses:`` to a full commit SHA with a truthful version comment, catch impostor
commits, audit the transitive action graph, update pins with a cooldown, and hash the
binaries actions download.
"""

__version__ = "0.1.0"

PROJECT_URL = "https://github.com/pinner-dev/pinner"
"""Where pinner lives: named in its User-Agent, SARIF's tool entry and its rules' help links."""
