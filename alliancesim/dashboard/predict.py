"""Predict, then run: a preset's questions, the student's guesses and, at the end, what the run measured.

A preset may ask questions (``[[questions]]`` in its TOML file, see
:class:`alliancesim.presets.Question`): "of the clients on T1's books on the last
day, what share will stay with the successor?", with a few choices.  The student
picks one before pressing ▶; when the run reaches its last week the page shows the
measured value next to the guess.  The measured value is always the run's own
headline metric (:func:`alliancesim.metrics.summary_metrics`, read from the run's
tables through :mod:`alliancesim.readout`), never a number written in the preset.

Guesses belong to the browser session and to the preset: they stay through a
Reset (a new seed may give another answer: that is worth seeing too).
"""

from __future__ import annotations

import html

import solara

from ..metrics import summary_metrics
from ..presets import Question
from .clinic import preset
from .digest import model_lock
from .live import LiveHTML, LiveHub


def measured(model, question: Question) -> float | None:
    """The run's answer to ``question`` once the run is over, else None (not yet known)."""
    with model_lock(model):
        if model.week < model.horizon:
            return None
        return float(summary_metrics(model)[question.answer])


def answer_html(model, question: Question, guess: int | None) -> str:
    """One question's line under its choices: what to do now, or the measured answer beside the guess."""
    value = measured(model, question)
    if value is None:
        with model_lock(model):
            horizon = model.horizon
        if guess is None:
            return ("<div class='as-predict-wait'>Pick your guess, then press ▶: the answer is measured when "
                    f"the run ends (week {horizon}).</div>")
        return (f"<div class='as-predict-wait'>Your guess: <b>{_esc(question.choices[guess])}</b>. "
                f"The answer comes when the run ends (week {horizon}).</div>")
    k = question.choice_of(value)
    if k is None:
        return ("<div class='as-predict-answer as-predict-none'>This run gave nothing to measure "
                f"(no {_esc(question.answer.replace('_', ' '))} to count): try another seed.</div>")
    verdict = ""
    if guess is not None:
        right = guess == k
        verdict = (f" · your guess: <b>{_esc(question.choices[guess])}</b> "
                   + ("<span class='as-predict-right'>✔ right</span>" if right
                      else "<span class='as-predict-wrong'>✘ not this time</span>"))
    explain = f"<div class='as-help'>{_esc(question.explain)}</div>" if question.explain else ""
    return (f"<div class='as-predict-answer'>Measured in this run: <b class='as-predict-value'>"
            f"{_esc(question.words(value))}</b> (<b>{_esc(question.choices[k])}</b>){verdict}</div>{explain}")


class Guesses:
    """One browser session's guesses: ``{(preset name, question number): choice number}``, and
    whether the questions are open on the page (a student may fold them away to see more map)."""

    def __init__(self) -> None:
        self.value = solara.reactive({})
        self.open = solara.reactive(True)

    def of(self, preset_name: str, k: int) -> int | None:
        return self.value.value.get((preset_name, k))

    def set(self, preset_name: str, k: int, choice: int) -> None:
        self.value.set({**self.value.value, (preset_name, k): int(choice)})


def status_html(model, questions, guesses: list[int | None]) -> str:
    """The folded panel's one line: how many guesses are in, and at the end how many were right."""
    values = [measured(model, q) for q in questions]
    n = len(questions)
    if values[0] is None:
        made = sum(g is not None for g in guesses)
        return (f"<span class='as-predict-status'>{made} of {n} guessed</span>" if n > 1 else
                f"<span class='as-predict-status'>{'guess made' if made else 'make a guess before ▶'}</span>")
    right = sum(g is not None and q.choice_of(v) == g for q, v, g in zip(questions, values, guesses, strict=True))
    return f"<span class='as-predict-status'>the run is over: {right} of {n} guessed right</span>"


@solara.component
def PredictPanel(model, guesses: Guesses, hub: LiveHub | None = None):
    """The running preset's questions, with a choice to pick and, after the run, the answer."""
    name = model.spec.preset
    questions = preset(name).questions
    if not questions:
        return
    picked = [guesses.of(name, k) for k in range(len(questions))]
    title = "Predict, then run" + (f" ({len(questions)} questions)" if len(questions) > 1 else "")
    with solara.v.ExpansionPanels(v_model=0 if guesses.open.value else None, flat=True, class_="as-predict",
                                  on_v_model=lambda i: guesses.open.set(i == 0)):
        with solara.v.ExpansionPanel():
            with solara.v.ExpansionPanelHeader(class_="as-predict-header"):
                with solara.Row(gap="12px", style={"align-items": "baseline", "flex-wrap": "wrap"}):
                    solara.HTML(tag="span", classes=["as-predict-title"], unsafe_innerHTML=title)
                    # follows the clock: says "the run is over" in the week it ends, even folded away
                    LiveHTML(hub, lambda: status_html(model, questions, picked), tag="span")
            with solara.v.ExpansionPanelContent():
                for k, question in enumerate(questions):
                    QuestionRow(model, name, k, question, guesses, hub)


@solara.component
def QuestionRow(model, preset_name: str, k: int, question: Question, guesses: Guesses,
                hub: LiveHub | None = None):
    guess = guesses.of(preset_name, k)
    with solara.Div(classes=["as-question", f"as-question-{k + 1}"]):
        solara.HTML(tag="div", classes=["as-question-ask"], unsafe_innerHTML=_esc(question.ask))
        solara.v.BtnToggle(
            v_model=guess, on_v_model=lambda i: i is not None and guesses.set(preset_name, k, i),
            mandatory=False, dense=True, class_="as-choices",
            children=[solara.v.Btn(children=[choice], class_=f"as-choice as-choice-{i + 1}", outlined=True)
                      for i, choice in enumerate(question.choices)])
        # the answer line follows the clock: it appears in the week the run ends, even while playing
        LiveHTML(hub, lambda: answer_html(model, question, guess), classes=["as-question-answer"])


def _esc(text) -> str:
    return html.escape(str(text), quote=True)
