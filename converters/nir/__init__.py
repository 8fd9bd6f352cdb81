"""nir: see docs/design.md."""
