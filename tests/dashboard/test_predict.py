"""Predict, then run: a preset's question, the student's guess, and the run's measured answer beside it."""

from __future__ import annotations

import html
import re

import ipyvuetify as v
import pytest

from alliancesim import presets
from alliancesim.model import AllianceModel
from alliancesim.tables import relationship_table

from .conftest import _all_text, walk

PRESET = "retiring_file_and_introduction"


def question_text(page, k: int = 1) -> str:
    found = page.with_class(f"as-question-{k}")
    assert len(found) == 1, f"expected one question {k}, found {len(found)}"
    return html.unescape(re.sub(r"<[^>]+>", "", _all_text(found[0])))


def choose(page, k: int, choice: int) -> None:
    toggle = walk(page.with_class(f"as-question-{k}")[0], v.BtnToggle)[0]
    toggle.v_model = choice


def same_run(name: str, seed: int) -> AllianceModel:
    """The run the page shows, made again here (same values and seed: the same run)."""
    model = AllianceModel(presets.load(name).validated(), rng=seed)
    while model.running:
        model.step()
    return model


def test_guess_then_run_shows_the_measured_answer_beside_the_guess(render_dashboard):
    question = presets.load(PRESET).questions[0]
    page = render_dashboard(preset=PRESET, seed=3)
    text = question_text(page)
    assert question.ask in text
    assert "the answer is measured when the run ends (week 260)" in text
    choose(page, 1, 0)
    assert f"Your guess: {question.choices[0]}" in question_text(page)
    assert "Measured" not in question_text(page)
    page.weeks_per_update(52)
    page.step(4)
    assert "Measured" not in question_text(page)  # not before the last week
    page.step()
    assert page.time() == 260
    text = question_text(page)
    # the same share, counted here from the relationships table rather than by the page's metric
    rels = relationship_table(same_run(PRESET, 3))
    outcomes = rels["handover_outcome"].dropna()
    outcomes = outcomes[outcomes != ""]
    assert len(outcomes) > 5
    share = float((outcomes == "stayed_with_successor").mean())
    expected = question.choices[question.choice_of(share)]
    assert f"Measured in this run: {100 * share:.0f}% ({expected})" in text
    verdict = "✔ right" if expected == question.choices[0] else "✘ not this time"
    assert f"your guess: {question.choices[0]} {verdict}" in text
    choose(page, 1, question.choice_of(share))  # the other verdict, for the right choice
    assert "✔ right" in question_text(page)
    panel = page.with_class("as-predict", v.ExpansionPanels)[0]
    panel.v_model = None  # folded away: the one-line status still tells how the guesses did
    assert "the run is over: 1 of 2 guessed right" in _all_text(page.with_class("as-predict")[0])


def test_a_preset_without_questions_shows_no_panel(render_dashboard):
    assert not presets.load("talk_laden").questions
    page = render_dashboard(preset="talk_laden")
    assert page.with_class("as-predict") == []


@pytest.mark.parametrize("table, message", [
    ('ask = "How many?"\nanswer = "nope"\nchoices = ["a", "b"]\nedges = [0.5]',
     r"questions\[1\]\.answer='nope' is not a headline metric"),
    ('ask = "How many?"\nanswer = "dropout_share"\nchoices = ["a", "b", "c"]\nedges = [0.5]',
     r"questions\[1\]\.edges must be 2 numbers \(one fewer than choices"),
    ('ask = "How many?"\nanswer = "dropout_share"\nchoices = ["a", "b"]\nedges = [30]',
     r"questions\[1\]\.edges=\[30\]: dropout_share is a share, so its edges lie between 0 and 1"),
    ('ask = "How many?"\nanswer = "recovery_weeks"\nchoices = ["a", "b", "c"]\nedges = [12, 6]',
     r"questions\[1\]\.edges must rise"),
    ('ask = "How many?"\nanswer = "dropout_share"\nchoices = ["a"]\nedges = []',
     r"questions\[1\]\.choices must be a list of two or more"),
    ('answer = "dropout_share"\nchoices = ["a", "b"]\nedges = [0.5]', r"questions\[1\]: ask is missing"),
    ('ask = "How many?"\nanswer = "dropout_share"\nchoices = ["a", "b"]\nedges = [0.5]\nhint = "x"',
     r"questions\[1\]: unknown key 'hint'"),
])
def test_a_bad_question_is_one_line_naming_the_preset_and_field(tmp_path, table, message):
    path = tmp_path / "mine.toml"
    path.write_text(f"title = 'Mine'\n[[questions]]\n{table}\n[params]\nn_therapists = 3\n")
    with pytest.raises(presets.PresetError, match=message) as err:
        presets.load(path)
    assert f"preset {str(path)!r}" in str(err.value) and "\n" not in str(err.value)


def test_a_choice_covers_its_edge_and_nan_has_no_choice():
    q = presets.Question("?", "dropout_share", ("low", "mid", "high"), (0.1, 0.2))
    assert [q.choice_of(x) for x in (0.0, 0.1, 0.15, 0.2, 0.9)] == [0, 1, 1, 2, 2]
    assert q.choice_of(float("nan")) is None
    assert q.words(0.456) == "46%" and presets.Question("?", "recovery_weeks", ("a", "b"), (6,)).words(8) == "8 weeks"
