"""Regenerate the parameter table in docs/odd.md from the parameter registry.

Usage: python scripts/update_param_table.py [--check]

With --check, exit 1 (and say so) if the table in the file differs from the registry.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from alliancesim.params import markdown_table

DOC = Path(__file__).resolve().parents[1] / "docs" / "odd.md"
BLOCK = re.compile(r"(<!-- parameters:start -->\n)(.*?)(<!-- parameters:end -->)", re.S)


def render(text: str) -> str:
    if not BLOCK.search(text):
        raise SystemExit(f"{DOC}: no <!-- parameters:start --> ... <!-- parameters:end --> block")
    return BLOCK.sub(lambda m: m.group(1) + markdown_table() + m.group(3), text)


def main() -> int:
    text = DOC.read_text()
    new = render(text)
    if "--check" in sys.argv[1:]:
        if new != text:
            print(f"{DOC} is out of date: run python scripts/update_param_table.py", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
