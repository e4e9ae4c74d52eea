"""The codec is pure: importing it loads no Django (the brief; specs/x12-warehouse.md §7)."""

from __future__ import annotations

import subprocess
import sys

MODULES = ("acks", "codes", "envelope", "inbound", "profile", "syntax", "w846", "w940", "w945",
           "w997")


def test_the_codec_imports_without_django():
    imports = "; ".join(f"import dropstream.platforms.x12.{name}" for name in MODULES)
    code = f"import sys; {imports}; print(sorted(m for m in sys.modules if m.startswith('django')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
