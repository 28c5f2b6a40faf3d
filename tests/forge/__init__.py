"""A GitHub emulator for end-to-end tests and benchmarks (REST, git smart HTTP, raw, downloads)."""
