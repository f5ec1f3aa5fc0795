#!/usr/bin/env python3
"""The code blocks of README.md, for running them exactly as written.

A block may carry a marker on the line before its fence::

    <!-- readme-block: quick-start (run by .ci/run) -->
    <!-- readme-block: serves http://127.0.0.1:8765/ -->
    <!-- readme-block: not-run (why, and what runs it instead) -->

``tests/core/test_readme.py`` runs every ``bash`` and ``python`` block in order and loads every
``toml`` block as a sweep spec; ``.ci/run`` runs the quick start:
``python3 scripts/readme_blocks.py quick-start`` prints that block.  Stdlib only (CI runs it
before anything is installed).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"

_FENCE = re.compile(r"^```(\w*)\s*$")
_MARKER = re.compile(r"^<!-- readme-block: (\S+)(?: (.*?))? -->\s*$")


@dataclass(frozen=True)
class Block:
    language: str  # "bash", "python", "toml", or "" for plain text
    code: str
    line: int  # 1-based line of the opening fence
    kind: str = ""  # the marker's word: "quick-start", "serves", "not-run", or "" (none)
    note: str = ""  # the rest of the marker (the URL of "serves", the reason of "not-run")


def blocks(path: Path = README) -> list[Block]:
    lines = path.read_text(encoding="utf-8").splitlines()
    found, i = [], 0
    while i < len(lines):
        fence = _FENCE.match(lines[i])
        if not fence:
            i += 1
            continue
        j = i + 1
        while j < len(lines) and lines[j].rstrip() != "```":
            j += 1
        previous = next((lines[k] for k in range(i - 1, -1, -1) if lines[k].strip()), "")
        marker = _MARKER.match(previous)
        kind, note = (marker.group(1), (marker.group(2) or "").strip("()")) if marker else ("", "")
        found.append(Block(fence.group(1), "\n".join(lines[i + 1:j]) + "\n", i + 1, kind, note))
        i = j + 1
    return found


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: readme_blocks.py KIND   (prints the README block marked with KIND)", file=sys.stderr)
        return 2
    chosen = [b for b in blocks() if b.kind == argv[0]]
    if len(chosen) != 1:
        print(f"readme_blocks.py: README.md has {len(chosen)} blocks marked {argv[0]!r}, expected one",
              file=sys.stderr)
        return 2
    print(chosen[0].code, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
