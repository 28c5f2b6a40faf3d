"""One module per CLI command; ``pinner/cli.py`` registers them. Each is thin: parse options,
build :class:`~pinner.settings.Settings`, call the core, hand results to a format."""
