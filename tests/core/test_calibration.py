"""The default clinic lands near the published figures (see docs/calibration.md)."""

from __future__ import annotations

from alliancesim.calibration import TARGETS, calibrate, markdown


def test_default_clinic_is_within_every_calibration_band():
    table = calibrate(seeds=(1, 2, 3), workers=2)
    assert list(table["metric"]) == [t.metric for t in TARGETS]
    outside = table[~table["within"]]
    assert outside.empty, markdown(outside)


def test_default_clinic_is_big_enough_for_the_benchmarks():
    from alliancesim import simulate, summary_metrics

    m = summary_metrics(simulate("default", seed=4, years=10))
    assert m["clients_on_books"] >= 300
    assert m["clients_on_books"] <= 400
