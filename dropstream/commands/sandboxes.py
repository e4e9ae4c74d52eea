"""``dropstream sandbox <name> …``: a simulator of a remote system on its own, for trying the hub
or a platform by hand. Each sandbox parses its own arguments (``--help`` lists them)."""

from __future__ import annotations

import argparse
import importlib

# name → "module:function" of the sandbox's main(argv) -> int.
SANDBOXES = {
    "brightsites": "dropstream.sandbox.brightsites.server:main",
    "warehouse": "dropstream.sandbox.warehouse.robot:main",
    "extensiv": "dropstream.sandbox.extensiv.server:main",
    "shiphero": "dropstream.sandbox.shiphero.server:main",
    "edi": "dropstream.sandbox.edi.cli:main",
}


def cmd_sandbox(args: argparse.Namespace) -> int:
    module_name, _, function = SANDBOXES[args.which].partition(":")
    main = getattr(importlib.import_module(module_name), function)
    return int(main(args.rest) or 0)
