"""The setup in the address: read at the start, one address per setup."""

from __future__ import annotations

import pytest

from alliancesim.dashboard.urlstate import TAB_NAMES, query_of, setup_from_query


def test_an_address_round_trips():
    setup = setup_from_query("preset=retiring_file&seed=7&notice_weeks=12&handover_policy=none&tab=handover&pair=5")
    assert setup.settings.preset.value == "retiring_file" and setup.settings.seed.value == 7
    assert setup.settings.values.value["notice_weeks"] == 12
    assert setup.settings.values.value["handover_policy"] == "none"
    assert (setup.tab, setup.pair) == (TAB_NAMES.index("handover"), 5)
    again = setup_from_query(query_of(setup.settings, setup.tab, setup.pair))
    assert again.settings.spec() == setup.settings.spec()
    assert (again.tab, again.pair) == (setup.tab, setup.pair)


def test_only_edited_values_are_in_the_address():
    setup = setup_from_query("preset=retiring_file")
    assert query_of(setup.settings) == "preset=retiring_file&seed=1"
    setup.settings.set_value("notice_weeks", 8)  # the preset's own value: not an edit
    assert "notice_weeks" not in query_of(setup.settings)


@pytest.mark.parametrize("search, problem", [
    ("n_therapists=lots", "n_therapists='lots' is not a whole number"),
    ("seed=-4", "seed=-4 is out of range"),
])
def test_a_value_that_cannot_be_read_shows_the_registry_message(search, problem):
    assert problem in setup_from_query(search).settings.problem()


def test_unknown_names_fall_back():
    setup = setup_from_query("preset=nonsense&tab=nowhere&colour=blue", preset_name="fixing", seed=3)
    assert setup.settings.preset.value == "fixing" and setup.settings.seed.value == 3 and setup.tab == 0
    assert setup.settings.problem() is None
