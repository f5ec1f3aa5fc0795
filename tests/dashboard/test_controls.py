"""The sidebar controls: generated from the registry, validated by it, applied on Reset."""

from __future__ import annotations

import html

import ipyvuetify as v
import pytest

from alliancesim import presets
from alliancesim.dashboard.clinic import SEED_MAX, DashboardClinic, Settings, parse_seed
from alliancesim.dashboard.controls import display_label, format_value, slider_range
from alliancesim.params import GROUPS, REGISTRY, ParameterError, by_group, validate

from .conftest import _all_text, walk


# ---------------------------------------------------------------------------------- generated from the registry
def test_every_registry_parameter_has_one_control_with_its_help_text(render_dashboard):
    page = render_dashboard()
    seen: dict[str, str] = {}
    groups = [g for g in GROUPS if by_group()[g]]
    for index, group in enumerate(groups):
        page.open_group(index)
        controls = page.with_class("as-control")
        names = [c for w in controls for c in str(w.class_).split() if c.startswith("as-param-")]
        assert sorted(n[len("as-param-"):] for n in names) == sorted(p.name for p in by_group()[group]), group
        for w in controls:
            name = next(c for c in str(w.class_).split() if c.startswith("as-param-"))[len("as-param-"):]
            seen[name] = _all_text(w)
    assert set(seen) == set(REGISTRY)
    for name, text in seen.items():
        p = REGISTRY[name]
        assert html.escape(p.help)[:40] in text, name
        assert p.name in text
        assert display_label(p) in text


def test_only_the_open_group_is_on_the_page(render_dashboard):
    page = render_dashboard()
    assert page.with_class("as-control") == []  # all groups closed at first
    page.open_group(0)
    assert len(page.with_class("as-control")) == len(by_group()[GROUPS[0]])
    page.open_group(1)
    assert len(page.with_class("as-control")) == len(by_group()[GROUPS[1]])


@pytest.mark.parametrize("name", list(REGISTRY))
def test_slider_range_stays_inside_the_allowed_range(name):
    p = REGISTRY[name]
    if p.choices is not None or p.type is bool:
        return
    lo, hi, step = slider_range(p)
    assert p.low <= lo <= hi <= p.high
    assert step > 0
    # what the value box shows reads back as the same value
    assert p.check(format_value(p, p.default)) == pytest.approx(p.default, abs=step / 2)


def test_labels_are_readable():
    assert display_label(REGISTRY["self_awareness_mean"]) == "Self awareness (average)"
    assert display_label(REGISTRY["n_therapists"]) == "Number of therapists"
    assert display_label(REGISTRY["town_radius_km"]) == "Town radius"


# ---------------------------------------------------------------------------------- changes apply on Reset
def kpi(page, key: str) -> str:
    html = _all_text(page.with_class("as-status")[0])
    start = html.index(f"as-kpi-{key}'")
    value = html[html.index("as-kpi-value'>", start) + len("as-kpi-value'>"):]
    return value[: value.index("<")]


def test_changing_a_control_then_reset_changes_the_model(render_dashboard):
    page = render_dashboard()
    assert kpi(page, "therapists") == "10"
    page.open_group(0)
    page.type_value("n_therapists", "4")
    assert "Changed since the last Reset" in page.text()  # the pending note
    assert kpi(page, "therapists") == "10"  # nothing changes before Reset
    page.step(2)
    page.reset()
    assert page.time() == 0
    assert kpi(page, "therapists") == "4"
    assert "Changed since the last Reset" not in page.text()
    assert "Number of therapists •" in page.text()  # marked as changed from the preset


def test_slider_changes_the_value(render_dashboard):
    page = render_dashboard()
    page.open_group(0)
    slider = walk(page.control("n_sites"), v.Slider)[0]
    slider.v_model = 5
    field = walk(page.control("n_sites"), v.TextField)[0]
    assert field.v_model == "5"


def test_unreadable_text_shows_the_registry_message_and_keeps_the_value(render_dashboard):
    page = render_dashboard()
    page.open_group(0)
    page.type_value("n_therapists", "lots")
    message = str(registry_error("n_therapists", "lots"))
    assert message in page.text()
    page.step(2)
    page.reset()  # refused, and says why: the clinic on screen stays
    assert "Reset did not start a new run: " + message in page.text()
    assert page.time() == 2 and kpi(page, "therapists") == "10"
    page.type_value("n_therapists", "6")
    assert message not in page.text()  # fixed: the message goes
    page.reset()
    assert page.time() == 0 and kpi(page, "therapists") == "6"


def registry_error(name: str, value) -> ParameterError:
    try:
        REGISTRY[name].check(value)
    except ParameterError as exc:
        return exc
    raise AssertionError(f"{name}={value!r} was accepted")


def test_invalid_combination_shows_the_validation_message_and_reset_refuses_it(render_dashboard):
    page = render_dashboard()
    page.open_group(0)
    page.type_value("n_therapists", "5")  # valid
    page.open_group(2)  # clients
    page.type_value("share_physical", "0.9")  # 0.9 + 0.2 overwhelmed > 1
    with pytest.raises(ParameterError) as registry_says:
        validate({"share_physical": 0.9})
    expected = str(registry_says.value)
    assert expected in page.text()
    assert "These settings cannot run" in page.text()
    page.step()
    page.reset()  # never the edited values under the preset's name: nothing starts
    assert page.time() == 1 and kpi(page, "therapists") == "10"
    assert "Reset did not start a new run" in page.text()
    page.type_value("share_physical", "0.5")
    assert expected not in page.text()
    page.reset()
    assert page.time() == 0 and kpi(page, "therapists") == "5"
    assert "The default clinic (2 values changed)" in page.text()


# ---------------------------------------------------------------------------------- presets and seed
def test_preset_selector_loads_the_preset_values(render_dashboard):
    page = render_dashboard()
    preset = presets.load("retiring_file")
    page.choose_preset("retiring_file")
    text = page.text()
    assert html.escape(preset.summary) in text
    assert html.escape(preset.things_to_notice[0]) in text
    page.open_group(GROUPS.index("handover"))
    field = walk(page.control("scheduled_retirement_week"), v.TextField)[0]
    assert field.v_model == str(preset.params["scheduled_retirement_week"])
    page.reset()
    assert f"/ {round(preset.params['years'] * 52)}" in _all_text(page.with_class("as-status")[0])
    assert preset.title in page.text()


def test_seed_is_shown_editable_and_checked(render_dashboard):
    page = render_dashboard(seed=7)
    seed_box = page.with_class("as-seed", v.TextField)[0]
    assert seed_box.v_model == "7"
    page.type_into(seed_box, "minus one")
    assert "seed='minus one' is not a whole number" in page.text()
    page.type_into(seed_box, "42")
    page.reset()
    assert "as-running-seed'>42<" in _all_text(page.with_class("as-status")[0])
    page.click("New seed")
    assert page.with_class("as-seed", v.TextField)[0].v_model != "42"


# ---------------------------------------------------------------------------------- Settings itself
def test_settings_fall_back_to_the_last_valid_run():
    settings = Settings("default", 3)
    first = settings.next_run()
    assert first.seed == 3 and first.params.n_therapists == 10
    settings.set_value("n_therapists", 12)
    last_valid = settings.next_run()
    settings.set_value("boundary_loose_below", 0.9)  # >= boundary_rigid_above: invalid pair
    assert "boundary_loose_below=0.9 must be below boundary_rigid_above" in settings.problem()
    assert settings.spec() is None
    assert settings.next_run() == last_valid != first
    settings.set_value("boundary_loose_below", 0.3)
    assert settings.next_run().params.n_therapists == 12
    assert set(settings.edited()) == {"n_therapists", "boundary_loose_below"}


def test_dashboard_clinic_starts_from_settings():
    settings = Settings("talk_laden", 11)
    model = DashboardClinic(settings)
    assert model.seed == 11
    assert model.params == presets.load("talk_laden").validated()
    model.step()
    assert model.week == 1


@pytest.mark.parametrize("text, seed", [("0", 0), ("12", 12), (" 5 ", 5), ("3.0", 3), (str(SEED_MAX), SEED_MAX)])
def test_parse_seed_accepts_whole_numbers(text, seed):
    assert parse_seed(text) == seed


@pytest.mark.parametrize("text", ["", "x", "1.5", "-1", str(SEED_MAX + 1), "nan", "1e400"])
def test_parse_seed_rejects_the_rest(text):
    with pytest.raises(ParameterError, match="seed="):
        parse_seed(text)


def test_problem_names_unreadable_text_first():
    settings = Settings()
    settings.set_value("population", "many")
    assert settings.problem().startswith("population='many' is not a whole number")
