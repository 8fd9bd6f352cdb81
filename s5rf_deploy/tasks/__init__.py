"""tasks: see docs/design.md."""
