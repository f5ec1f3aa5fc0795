"""The results notes and the README's experiment table quote only numbers from the results tables.

Every ``RESULTS.md`` with a ``RESULTS.template.md`` beside it was written by its ``run.py`` from the
template and ``quotes.json`` (each placeholder's text and the table cells it came from).  These
tests re-derive every quoted number from the committed tables, re-fill the template and compare
with the committed note and the README, so a hand-edited note, a stale number or a table changed
without re-running the script fails.  No experiment is re-run here.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENTS = ROOT / "experiments"
sys.path.insert(0, str(EXPERIMENTS))
import common as C  # noqa: E402
import run_all  # noqa: E402

sys.path.remove(str(EXPERIMENTS))

#: Experiments whose note is generated from a template.
GENERATED = sorted(p.parent.name for p in EXPERIMENTS.glob(f"*/{C.TEMPLATE}"))


def problems(out: Path, folder: Path | None = None) -> list[str]:
    """What is wrong with the note in ``out``: numbers that differ from their tables, a note that
    is not its template filled with the recorded quotes.  ``folder`` holds the template and the
    frozen tables (the experiment's own folder; ``out`` itself for a committed run)."""
    folder = folder or out
    found = []
    record = json.loads((out / C.QUOTES).read_text(encoding="utf-8"))
    quotes = record["results"]
    for name, quote in quotes.items():
        for cell in quote["cells"]:
            where = out if (out / cell["table"]).exists() else folder
            try:
                value = C.cell_value(C.read_source(where, cell["table"]), cell["row"], cell["column"])
            except (KeyError, FileNotFoundError) as exc:
                found.append(f"{out.name}: {{{name}}} quotes {cell['table']} {cell['row']} {cell['column']}, "
                             f"which is not there ({exc})")
                continue
            text = C.format_number(value, cell["digits"], cell["scale"])
            if text != cell["text"]:
                found.append(f"{out.name}: {{{name}}} quotes {cell['text']} but {cell['table']} "
                             f"{cell['row']} {cell['column']} reads {text}")
        texts = [c["text"] for c in quote["cells"]]
        if quote["pattern"].format(*texts) != quote["text"]:
            found.append(f"{out.name}: {{{name}}} reads {quote['text']!r}, its cells make "
                         f"{quote['pattern'].format(*texts)!r}")
    note = (out / "RESULTS.md").read_text(encoding="utf-8")
    try:
        filled = C.fill_template((folder / C.TEMPLATE).read_text(encoding="utf-8"), quotes)
    except KeyError as exc:
        return found + [f"{out.name}/{C.TEMPLATE} has the placeholder {exc}, which quotes.json lacks "
                        "(the template changed without a rerun)"]
    if not note.endswith(filled):  # a reduced note starts with a warning line
        found.append(f"{out.name}/RESULTS.md is not {C.TEMPLATE} filled with quotes.json "
                     "(edited by hand, or the template changed without a rerun)")
    headline = record.get("headline")
    if headline and C.fill_template(headline["template"], quotes) != headline["text"]:
        found.append(f"{out.name}: the headline is not its template filled with quotes.json")
    return found


def test_the_notes_are_generated_for_experiments_01_to_06():
    assert [g[:2] for g in GENERATED] == ["01", "02", "03", "04", "05", "06"]


@pytest.mark.parametrize("name", GENERATED)
def test_every_quoted_number_comes_from_its_table(name):
    folder = EXPERIMENTS / name
    assert problems(folder) == []
    info = json.loads((folder / "run_info.json").read_text())
    assert info["template_sha256"] == C.sha256(folder / C.TEMPLATE), f"{name}/{C.TEMPLATE} changed since the run"
    quotes = json.loads((folder / C.QUOTES).read_text())["results"]
    assert sum(len(q["cells"]) for q in quotes.values()) >= 10, f"{name}/RESULTS.md quotes almost nothing"


def test_a_changed_table_or_note_is_caught(tmp_path):
    """The check itself can fail: change one quoted cell, then one word of the note."""
    name = GENERATED[0]
    copy = tmp_path / name
    shutil.copytree(EXPERIMENTS / name, copy)
    quote = next(q for q in json.loads((copy / C.QUOTES).read_text())["results"].values()
                 if q["cells"] and q["cells"][0]["table"] == "table.csv")
    cell = quote["cells"][0]
    table = pd.read_csv(copy / cell["table"])
    mask = pd.Series(True, index=table.index)
    for k, v in (cell["row"] or {}).items():
        mask &= table[k].astype(str) == str(v) if isinstance(v, str) else (table[k] - v).abs() < 1e-9
    table.loc[mask, cell["column"]] = table.loc[mask, cell["column"]] + 1
    table.to_csv(copy / cell["table"], index=False)
    assert any(cell["column"] in p for p in problems(copy))
    shutil.copyfile(EXPERIMENTS / name / cell["table"], copy / cell["table"])
    assert problems(copy) == []
    note = copy / "RESULTS.md"
    note.write_text(note.read_text().replace(quote["text"], "9.99", 1))
    assert problems(copy) != []


def test_readme_experiment_table_quotes_the_headlines():
    _, rows, _ = run_all.readme_rows((ROOT / "README.md").read_text(encoding="utf-8"))
    for name in GENERATED:
        record = json.loads((EXPERIMENTS / name / C.QUOTES).read_text(encoding="utf-8"))
        headline = record["headline"]
        assert rows.get(name) == run_all.readme_row(name, headline), \
            f"README row of {name} differs from its headline: run python experiments/run_all.py"
        for key, quote in record["results"].items():
            if "{" + key + "}" in headline["template"]:
                assert C.rederive(quote, EXPERIMENTS / name) == quote["text"], (name, key)


def test_format_number():
    assert C.format_number(0.4449, 2) == "0.44"
    assert C.format_number(-0.6, 1) == "−0.6"
    assert C.format_number(-0.001, 2) == "0.00"
    assert C.format_number(0.385, 1, scale=100) == "38.5"
    assert C.format_number(float("nan"), 2) == "–"
