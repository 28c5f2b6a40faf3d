"""The core: resolve refs, verify pins, walk the graph, rewrite files, update, hash downloads."""
