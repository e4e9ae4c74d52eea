"""Intents: side effects outside the hub, recorded before they are performed (DESIGN.md
invariant 1)."""
