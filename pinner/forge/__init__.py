"""Where refs and files come from: one :class:`~pinner.forge.base.Forge` interface.

Implementations: ``github`` (REST + git smart HTTP + raw content over httpx),
``snapshot`` (a directory in the corpus snapshot format, no network), and ``cached``
(a wrapper adding single-flight and the persistent cache in front of any forge).
"""
