"""graphs: see docs/design.md."""
