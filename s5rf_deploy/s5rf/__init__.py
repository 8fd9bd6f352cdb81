"""s5rf: see docs/design.md."""
