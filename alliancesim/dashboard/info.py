"""The Info page: what the model is, how it works and how to teach with it.

The sections follow the NetLogo "Info tab" that many modellers know.  The
preset on screen adds its own things to notice and to try.
"""

from __future__ import annotations

import solara

from .. import presets
from ..params import GROUPS, by_group

WHAT_IS_IT = """
**alliancesim** is an agent-based model of a massage clinic, built to think about the therapeutic
relationship. Therapists and clients meet, week after week. Some pairs connect at once, some take
many sessions, and some never fit. Trust grows, ruptures open and are repaired (or not), clients
finish, stay on for years, move away or drop out, therapists tire, and when a therapist retires
their clients have to decide whether to start again with someone new.

The relationship itself, not the therapist or the client, is the unit the model follows. The model
is a thinking tool for teaching and for exploring hypotheses, not a prediction for any real clinic.
"""

HOW_IT_WORKS = """
One step is one week. Each week:

1. **Life happens.** Clients move house, meet setbacks (a loss, a job, a family crisis), pause
   and return. Therapists give notice and leave: at retirement or when burnout passes a threshold.
2. **New clients arrive**, by themselves or by word of mouth along family and friend ties from
   satisfied clients, and choose a therapist with room, near enough to home.
3. **Sessions.** Every client due this week sees their therapist. A session's quality depends on
   the therapist's hands, warmth, boundaries and how well talk and silence suit the client. It moves
   the relationship: the **bond** (trust), agreement on **goals** and **tasks** (together, the working
   alliance) and four **themes** that tend to develop in order: *separateness* (clear boundaries and
   roles), *pleasure* (safety and comfort), *merging* (contact and empathy) and *internalisation*
   (the client takes the care home). Distress and pain fall with a good session and drift back between
   sessions unless the client cares for themselves.
4. **Ruptures and repair.** A missed cue, a boundary slip or *countertransference* (a client's story
   touching the therapist's own history) can rupture the alliance. A self-aware therapist notices
   and repairs it; otherwise a trusting client may repair it, or it stays open and makes dropping out
   more likely. Hands and attention are busy in massage, so ruptures are easily missed.
5. **After the session** the client books again, reaches their goals and finishes, stays on as a
   maintenance client, drops out, or is referred: to a colleague who suits them better, or out of
   the clinic (physiotherapy, counselling) when their needs are beyond massage.
6. **Therapists end the week.** A full book of clients who do not improve builds burnout, faster in
   a therapist who feels they must fix everyone; lighter weeks let it ease.

**Handover.** On a therapist's last day each client chooses: stay with the successor in the same
room, move to a colleague nearer home, or stop. A transferred file (the client need not tell their
story again) and a warm introduction during the notice weeks make staying more likely and help the
new alliance recover sooner.

Every number the model uses is a parameter in the sidebar, with its range, unit and meaning.
"""

HOW_TO_USE_IT = """
* **Pick a preset clinic** in the sidebar, or change parameters (a dot marks a value that differs from
  the preset). Press **Reset** to start a run with them: the clinic on screen changes only on Reset.
  A combination that cannot run (say, two shares adding up to more than the whole) shows the reason
  in red and Reset keeps the last valid settings.
* **Step** advances the clinic; **▶** plays, **❚❚** pauses (the buttons are in the bar at the top).
  *Weeks per update* sets how many weeks one Step (or one update while playing) moves on: 52 races
  through a year at a time. *Pause between updates* slows play down for a class to follow. A run
  stops at its last week; **Reset** starts a new one.
* The **seed** fixes chance: the same settings and seed always give the same run. *New seed* tells
  another story from the same clinic.
* The tabs: **Clinic map** (who sees whom, now), **Over time** (the weekly trends), **Relationship**
  (one pair, session by session), **Event log** (what happened, in words, newest first), **Handover**
  (each retirement and where the clients went, and the three handover policies side by side),
  **Run N times** (the spread of outcomes over seeds), **Compare** (two presets run with the same
  seed, their key plots overlaid) and **Export** (tables as CSV, pictures as PNG, and a zip of them to
  download).
* **Predict, then run.** Some presets ask a question before the run (above the tabs): pick a guess,
  press **▶**, and when the run ends the page shows what the run measured next to the guess.
* Hide the sidebar with the menu button at the top left to give the pictures the whole screen.
* The page's address holds the setup (preset, seed, changed values, tab): reload keeps it, and
  sending the link to a student opens the same clinic.
"""

THINGS_TO_NOTICE = """
* Most clients who drop out do so after their first or second session, while the alliance is
  still thin; long relationships rarely end that way.
* Ruptures are common. Watch a pair in the **Relationship** tab: the bond drops at a rupture and
  often ends *higher* than before once it is repaired.
* Who repairs? The event log says whether the therapist named the rupture or the client reached back.
* Maintenance clients accumulate over the years: a clinic's book slowly fills with long relationships.
* Clients who live far from the room are the first to leave at a handover; clients with a strong
  bond keep travelling after they move.
"""

THINGS_TO_TRY = """
* Lower *self awareness (average)* and watch the share of repaired ruptures and the mean alliance.
* Compare the three *retiring therapist* presets (no handover, file transfer, file and introduction):
  who stays with the successor, and how long the new alliances take to recover.
* Make the therapists talk-laden, then talk-restricted, with chatty and with quiet clients.
* Push *boundary firmness* towards either end: loose boundaries bring incidents, rigid ones block
  merging.
* Use **Run N times** before drawing a conclusion from one run.
"""

EXTENDING_THE_MODEL = """
* **A new parameter** is one entry in the registry (`alliancesim/params.py`): name, type, default,
  unit, range, group and a one-line help text. The dashboard builds its control from that entry and
  the session code reads it as `P.name`.
* **A new step in a session** is a small phase function in `alliancesim/week.py` (an equation that
  others may reuse goes in `alliancesim/session.py`), with its equation in the docstring; a new
  random draw gets its own stream, so nothing else changes while the mechanism is off. It is plain
  Python: no build step (the fast engine compiles it by itself on the next run).
* **A new preset** is a TOML file in `alliancesim/presets/` with a title, a summary, things to
  notice, things to try and a `[params]` table; it appears in the preset list.
* **A new view** is a Solara component in `alliancesim/dashboard/views.py` that reads the model
  through `digest(model)` (cheap, cached) or the tables in `alliancesim.tables`, and a tab in
  `alliancesim/dashboard/app.py`.
* The checklist, with a worked example that a test applies on every CI run, is in
  `docs/extending.md`.
* Ideas the sources suggest and the model leaves out: supervision or peer support that lowers
  burnout and raises self-awareness; clients' families treated by the same therapist; a therapist
  who works with touch and silence differently for different clients; the client's own work between
  sessions made visible (exercises, sleep, diet).
"""

SOURCES = """
The mechanisms come from five practitioner and research texts:

* Clare Carey, *Massage as therapeutic relationship* (blog post, 2023): a therapist looking back
  on sixteen years as she leaves full-time practice: trust that builds at different speeds,
  referring on clients she was not the best person to help, long relationships, and saying goodbye
  to clients at retirement, with files passed on to her successor.
* *Therapeutic Relationship in Massage* (a massage therapist's blog post; the author is not named in
  the copy used): clients as teachers, a clear and boundaried connection, and relationships that
  last through clients' life events.
* Timothy Clark, *The Psychotherapeutic Relationship in Massage Therapy*, International Journal of
  Therapeutic Massage and Bodywork 12(3), 2019: the four themes (separateness, pleasure, merging,
  internalisation), talk and silence across sessions, countertransference, rupture and repair, and
  self-awareness.
* *What is the Importance of Therapeutic Alliance in Massage Therapy?* (web article, July 2022; no
  author named): the alliance as collaboration built on respect, communication and trust, and its
  link to clients continuing and reaching their goals.
* A massage therapist's social-media post (November 2025) on not being a miracle worker: holding
  space rather than fixing, and results that need the client's own work.

Default values are calibrated against published figures: premature termination (Swift & Greenberg
2012), dose-response (Howard et al. 1986), massage and depression or anxiety (Hou et al. 2010;
Moyer, Rounds & Hannum 2004), and how often clients report ruptures (Eubanks, Muran & Safran 2018).
"""


def _bullets(items) -> str:
    return "\n".join(f"* {item}" for item in items)


def info_markdown(preset_name: str) -> str:
    """The whole Info page, with the preset's own notes under THINGS TO NOTICE / THINGS TO TRY."""
    preset = presets.load(preset_name)
    groups = by_group()
    parameters = ", ".join(f"{g} ({len(groups[g])})" for g in GROUPS)
    notice = THINGS_TO_NOTICE
    if preset.things_to_notice:
        notice += f"\n**In {preset.title}:**\n\n" + _bullets(preset.things_to_notice) + "\n"
    if preset.questions:
        notice += (f"\n**{preset.title} asks before the run** (pick a guess above the tabs; the answer "
                   "comes when the run ends):\n\n"
                   + _bullets(f"{q.ask} *({' / '.join(q.choices)})*" for q in preset.questions) + "\n")
    tries = THINGS_TO_TRY
    if preset.things_to_try:
        tries += f"\n**In {preset.title}:**\n\n" + _bullets(preset.things_to_try) + "\n"
    return "\n".join([
        "## WHAT IS IT?", WHAT_IS_IT,
        "## HOW IT WORKS", HOW_IT_WORKS, f"The parameters come in groups: {parameters}.\n",
        "## HOW TO USE IT", HOW_TO_USE_IT,
        "## THINGS TO NOTICE", notice,
        "## THINGS TO TRY", tries,
        "## EXTENDING THE MODEL", EXTENDING_THE_MODEL,
        "## SOURCES", SOURCES,
    ])


@solara.component
def InfoView(preset_name: str):
    with solara.Column(classes=["as-info"]):
        solara.Markdown(info_markdown(preset_name))
