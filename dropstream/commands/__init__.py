"""The sub-commands of ``dropstream`` (parsed in ``dropstream/cli.py``), one module per group.
Only commands start sandboxes (tests/test_layers.py)."""
