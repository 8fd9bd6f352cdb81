"""fixed: see docs/design.md."""
