"""A class in the browser: guess before the run and read the answer after it; compare two setups."""

from __future__ import annotations

from alliancesim import presets

from .test_dashboard import image_size, set_weeks_per_update, wait_for_week


def test_guess_then_run_to_the_end_shows_the_answer_beside_the_guess(offline_page, dashboard_url):
    op = offline_page
    name = "retiring_file_and_introduction"
    question = presets.load(name).questions[0]
    op.goto(f"{dashboard_url}?preset={name}&seed=5")
    first = op.page.locator(".as-question-1")
    first.get_by_text(question.ask).wait_for()
    first.locator(".as-choice-3").click()  # "a half to two thirds"
    first.get_by_text(f"Your guess: {question.choices[2]}").wait_for()
    set_weeks_per_update(op, "End")  # a year per Step
    for week in (52, 104, 156, 208, 260):
        op.step()
        wait_for_week(op, week)
    answer = first.locator(".as-predict-answer")
    answer.wait_for()
    text = answer.inner_text()
    assert text.startswith("Measured in this run: ") and f"your guess: {question.choices[2]}" in text
    assert ("✔ right" in text) != ("✘ not this time" in text)
    op.page.locator(".as-predict-header").click()  # fold it away: the status line keeps the score
    op.page.locator(".as-predict-status", has_text="the run is over").wait_for()
    op.assert_clean()


def test_compare_two_presets_side_by_side(offline_page, dashboard_url):
    op = offline_page
    op.goto(f"{dashboard_url}?preset=fixing&seed=2&tab=compare")
    op.page.get_by_role("button", name="Run A and B with seed 2").click()
    assert image_size(op, "compare") > 500
    table = op.page.locator(".as-compare-table").inner_text()
    assert "A: The fixing stance" in table and "B: Holding space" in table
    op.assert_clean()
