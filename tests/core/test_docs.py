"""The docs stay in step with the code."""

from __future__ import annotations

import re
from pathlib import Path

from alliancesim.params import REGISTRY, markdown_table

ROOT = Path(__file__).resolve().parents[2]


def test_odd_parameter_table_matches_the_registry():
    text = (ROOT / "docs" / "odd.md").read_text()
    block = re.search(r"<!-- parameters:start -->\n(.*?)<!-- parameters:end -->", text, re.S)
    assert block, "docs/odd.md lost its parameter block"
    assert block.group(1) == markdown_table(), "run: python scripts/update_param_table.py"


def test_odd_names_every_parameter_and_session_function():
    from alliancesim import session as S

    text = (ROOT / "docs" / "odd.md").read_text().split("<!-- parameters:start -->")[0]
    for name in REGISTRY:
        assert f"`{name}`" in text, f"the model description never mentions {name}"
    for name in ("drift_between_sessions", "talk_fit", "session_quality", "grow_bond", "update_themes",
                 "bond_after_repair", "dropout_probability", "burnout_step"):
        assert hasattr(S, name) and name in text, name


def test_odd_has_the_seven_sections():
    text = (ROOT / "docs" / "odd.md").read_text()
    for n, title in enumerate(["Purpose and patterns", "Entities, state variables and scales",
                               "Process overview and scheduling", "Design concepts", "Initialisation",
                               "Input data", "Submodels"], start=1):
        assert re.search(rf"^## {n}\. {title}$", text, re.M), title
