"""The parameter registry: complete, validated, and clear about what is wrong."""

from __future__ import annotations

import dataclasses

import pytest

from alliancesim.params import (
    GROUPS,
    REGISTRY,
    ParameterError,
    Params,
    defaults,
    markdown_table,
    parse_assignment,
    validate,
)


def test_every_parameter_is_fully_described():
    for p in REGISTRY.values():
        assert p.type in (int, float, str, bool), p.name
        assert p.group in GROUPS, p.name
        assert p.unit and p.help and p.help[0].isupper() and p.help.endswith("."), p.name
        if p.type in (int, float):
            assert p.low < p.high and p.low <= p.default <= p.high, p.name
        else:
            assert p.choices and p.default in p.choices, p.name
        assert p.check(p.default) == p.default


def test_params_class_has_one_field_per_parameter():
    assert [f.name for f in dataclasses.fields(Params)] == list(REGISTRY)
    assert Params() == validate({})
    assert validate({}).as_dict() == defaults()


@pytest.mark.parametrize("name,value,expected", [
    ("self_awareness_mean", 1.5, "self_awareness_mean=1.5 is out of range: allowed 0 to 1 (0-1 scale)"),
    ("n_therapists", 0, "n_therapists=0 is out of range: allowed 1 to 60 (therapists)"),
    ("n_therapists", 2.5, "n_therapists=2.5 is not a whole number"),
    ("arrival_rate", "lots", "arrival_rate='lots' is not a number"),
    ("arrival_rate", float("nan"), "arrival_rate=nan is out of range"),
    ("handover_policy", "email", "handover_policy='email' is not allowed: choose one of none, file, "
                                 "file_and_introduction"),
])
def test_bad_values_name_parameter_value_and_range(name, value, expected):
    with pytest.raises(ParameterError) as err:
        validate({name: value})
    assert expected in str(err.value)
    assert "\n" not in str(err.value)


def test_unknown_parameter_suggests_the_nearest_name():
    with pytest.raises(ParameterError, match="unknown parameter 'self_awarness_mean'.*did you mean 'self_awareness_mean'"):
        validate({"self_awarness_mean": 0.5})


def test_combinations_that_cannot_work_are_refused():
    with pytest.raises(ParameterError, match="share_physical \\+ share_overwhelmed = 1.3 exceeds 1"):
        validate({"share_physical": 0.8, "share_overwhelmed": 0.5})
    with pytest.raises(ParameterError, match="boundary_loose_below=0.8 must be below boundary_rigid_above=0.7"):
        validate({"boundary_loose_below": 0.8})
    with pytest.raises(ParameterError, match="scheduled_retirement_week=300 is after the end of the run"):
        validate({"years": 5, "scheduled_retirement_week": 300})


def test_values_from_the_command_line_are_converted():
    assert parse_assignment("n_therapists=12") == ("n_therapists", 12)
    assert parse_assignment("arrival_rate = 2.5") == ("arrival_rate", 2.5)
    assert parse_assignment("handover_policy=none") == ("handover_policy", "none")
    with pytest.raises(ParameterError, match="--set expects key=value"):
        parse_assignment("n_therapists")


def test_replace_validates():
    p = validate({})
    assert p.replace(n_therapists=12).n_therapists == 12
    with pytest.raises(ParameterError):
        p.replace(n_therapists=-1)


def test_docs_table_lists_every_parameter():
    table = markdown_table()
    for name in REGISTRY:
        assert f"`{name}`" in table
