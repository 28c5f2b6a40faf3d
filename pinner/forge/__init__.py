"""Where refs and files come from: one :class:`~pinner.forge.base.Forge` interface.

Implementations: ``github`` (REST + git smart HTTP + raw content over httpx),
``snapshot`` (a directory in the corpus snapshot format, no network), and ``cached``
(a wrapper adding single-flight and the persistent cache in front of any forge).
"""

import sys

# httpx's package imports its command-line client (``httpx._main``) whenever click and rich are
# installed, and typer installs both: about 45 ms of CPU on every run that talks to a forge (a
# sixth of a warm ``pinner lock``, which runs once per repository), for a client pinner never
# runs. A module recorded as None is one Python declines to import; httpx then defines the stub
# it has for an install without its ``cli`` extra. Only httpx's own console script lives there.
# Set here, in the package every httpx import of pinner goes through (``http``, ``download``).
sys.modules.setdefault("httpx._main", None)
