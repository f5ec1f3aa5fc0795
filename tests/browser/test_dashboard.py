"""The dashboard in headless Debian chromium, served offline on 127.0.0.1 (see conftest.py)."""

from __future__ import annotations

import csv
import re
import statistics
import time
import zipfile
from pathlib import Path

import pytest

from alliancesim import presets

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# ---------------------------------------------------------------------------------- helpers
def kpi(op, key: str) -> str:
    return op.page.locator(f".as-kpi-{key} .as-kpi-value").inner_text().split("/")[0].strip()


def open_tab(op, label: str) -> None:
    op.page.get_by_role("tab", name=label).click()


def type_param(op, name: str, text: str) -> None:
    box = op.page.locator(f".as-param-{name} input[type=text]")
    box.fill(text)
    box.press("Enter")


def open_group(op, title: str) -> None:
    op.page.locator(".as-group-title", has_text=title).click()


def choose_preset(op, title: str) -> None:
    op.page.locator(".as-preset-select").click()
    op.page.get_by_role("option", name=title, exact=True).click()


def press_on_slider(op, css: str, key: str) -> None:
    """Press a key on a run-control slider: ".as-weeks-per-update" or ".as-pause"."""
    op.page.locator(f"{css} .v-slider__thumb-container").focus()
    op.page.keyboard.press(key)


def press_slider_labelled(op, label: str, key: str) -> None:
    op.page.locator(".v-input.v-slider, .v-input", has_text=label).locator(".v-slider__thumb-container").first.focus()
    op.page.keyboard.press(key)


def set_weeks_per_update(op, key: str) -> None:
    """"End": 52 weeks per Step, "Home": 1."""
    press_on_slider(op, ".as-weeks-per-update", key)


def wait_for_week(op, week: int, timeout: float = 30_000) -> None:
    """Wait until the headline numbers show ``week``."""
    op.page.wait_for_function(
        "w => { const e = document.querySelector('.as-kpi-week .as-kpi-value');"
        " return e && e.innerText.split('/')[0].trim() === String(w); }", arg=week, timeout=timeout)


def shown_week(op) -> int:
    return int(kpi(op, "week"))


def wait_for_week_after(op, week: int, timeout: float = 60_000) -> int:
    """Wait until the views show a week later than ``week``; returns it."""
    op.page.wait_for_function(
        "w => { const e = document.querySelector('.as-kpi-week .as-kpi-value');"
        " return e && Number(e.innerText.split('/')[0].trim()) > w; }", arg=week, timeout=timeout)
    return shown_week(op)


def map_width(op) -> float:
    """Width on screen of the clinic map (SVG drawn by the browser), px."""
    svg = op.page.locator(".as-map svg")
    svg.wait_for()
    return float(svg.evaluate("e => e.getBoundingClientRect().width"))


def map_markup(op) -> str:
    return op.page.locator(".as-map").inner_html()


def image_size(op, name: str) -> int:
    img = op.page.locator(f"img.as-{name}")
    img.wait_for()
    op.page.wait_for_function(f"() => document.querySelector('img.as-{name}').naturalWidth > 0")
    return int(img.evaluate("e => e.naturalWidth"))


def image_src(op, name: str) -> str:
    return op.page.locator(f"img.as-{name}").get_attribute("src") or ""


# ---------------------------------------------------------------------------------- tests
def test_page_loads_offline_with_no_failed_requests_and_no_errors(offline_page, dashboard_url):
    offline_page.goto(dashboard_url)
    offline_page.wait_for_time(0)
    assert map_width(offline_page) > 300  # drawn, and not a thumbnail
    assert kpi(offline_page, "therapists") == "10"
    assert offline_page.page.get_by_text("Clinic to simulate").is_visible()
    assert any("/_solara/cdn/" in url for url in offline_page.requests)  # front end from the local cache
    offline_page.assert_clean()


def step_to(op, week: int) -> None:
    """Press Step until the page shows ``week`` (from week 0), waiting for each week in turn."""
    for w in range(1, week + 1):
        op.step()
        wait_for_week(op, w)


def test_step_advances_the_week_and_play_pauses(offline_page, dashboard_url, artifacts_dir):
    op = offline_page
    op.goto(dashboard_url)
    op.wait_for_time(0)
    first_map = map_markup(op)
    latencies = []
    for week in range(1, 9):
        started = time.perf_counter()
        op.step()
        wait_for_week(op, week)
        latencies.append(time.perf_counter() - started)
    op.wait_for_time(8)
    op.page.get_by_text(re.compile(r"^Week 8: \d+ therapists")).wait_for()
    assert map_markup(op) != first_map
    (artifacts_dir / "browser-step-latency.txt").write_text(
        "click Step -> week N shown with the new map, default clinic, map tab, seconds:\n"
        + " ".join(f"{x:.3f}" for x in latencies) + f"\nmedian {statistics.median(latencies):.3f}\n")
    assert statistics.median(latencies) < 1.5
    # Play with no pause between weeks: faster than the page can draw, which must slow play
    # down, not stop the page
    press_on_slider(op, ".as-pause", "Home")
    op.play()
    wait_for_week_after(op, 24)
    op.pause()
    paused_at = op.model_time()
    wait_for_week(op, int(paused_at))
    time.sleep(1.0)
    assert op.model_time() == paused_at
    assert op.page.get_by_text("Too many renders").count() == 0
    op.assert_clean()


def test_changing_a_control_and_resetting_changes_the_model(offline_page, dashboard_url):
    op = offline_page
    op.goto(dashboard_url)
    open_group(op, "The clinic")
    type_param(op, "n_therapists", "4")
    op.page.get_by_text("Changed since the last Reset").wait_for()
    assert kpi(op, "therapists") == "10"
    op.reset()
    op.page.wait_for_function("() => document.querySelector('.as-kpi-therapists .as-kpi-value')"
                              ".innerText.trim() === '4'")
    op.wait_for_time(0)
    # an impossible combination: the registry's message in the page, and Reset refuses to start it
    open_group(op, "Clients")
    type_param(op, "share_physical", "0.9")
    op.page.get_by_text(re.compile(r"share_physical \+ share_overwhelmed = 1\.1 exceeds 1")).first.wait_for()
    op.step()
    op.wait_for_time(1)
    op.reset()
    op.page.locator(".as-reset-refused", has_text="Reset did not start a new run").wait_for()
    assert op.model_time() == 1 and kpi(op, "therapists") == "4"
    type_param(op, "share_physical", "0.5")
    op.page.locator(".as-reset-refused").wait_for(state="detached")
    op.reset()
    op.wait_for_time(0)
    op.page.locator(".as-running-title", has_text="(2 values changed)").wait_for()
    op.assert_clean()


def test_preset_selector_loads_a_preset(offline_page, dashboard_url):
    op = offline_page
    op.goto(dashboard_url)
    preset = presets.load("retiring_file_and_introduction")
    choose_preset(op, preset.title)
    op.page.get_by_text(preset.summary).wait_for()
    op.page.get_by_text(preset.things_to_notice[0]).wait_for()
    open_group(op, "Retirement and handover")
    assert op.page.locator(".as-param-handover_policy").inner_text().find("file_and_introduction") >= 0
    op.reset()
    op.page.locator(".as-running-title", has_text=preset.title).wait_for()
    assert op.page.locator(".as-kpi-week .as-kpi-value").inner_text().endswith(
        f"/ {round(preset.params['years'] * 52)}")
    op.assert_clean()


def test_relationship_inspector_draws_a_chart_for_a_chosen_pair(offline_page, dashboard_url):
    op = offline_page
    op.goto(dashboard_url)
    step_to(op, 6)
    open_tab(op, "Relationship")
    assert image_size(op, "relationship") > 500
    before = image_src(op, "relationship")
    op.page.get_by_role("textbox", name="Client and therapist").click()
    option = op.page.get_by_role("option").nth(2)
    label = option.inner_text()
    client, therapist = re.match(r"(C\d+) with (T\d+)", label).groups()
    option.click()
    op.page.locator(".as-relationship-caption", has_text=f"{client} with {therapist}: from week").wait_for()
    op.page.wait_for_function(
        "before => document.querySelector('img.as-relationship').getAttribute('src') !== before", arg=before)
    assert image_size(op, "relationship") > 500
    op.assert_clean()


def test_export_writes_files(offline_page, dashboard_url, dashboard_server):
    op = offline_page
    op.goto(dashboard_url)
    step_to(op, 3)
    open_tab(op, "Export")
    op.page.get_by_role("button", name="Export this run").click()
    done = op.page.locator(".as-export-done")
    done.wait_for(timeout=60_000)
    folder = re.search(r"files to (.+)$", done.inner_text().strip()).group(1)
    written = [p for p in dashboard_server.export_dir.iterdir() if str(p) == folder]
    assert len(written) == 1
    files = {p.name: p for p in written[0].iterdir()}
    with files["weekly.csv"].open() as fh:
        assert [int(r["week"]) for r in csv.DictReader(fh)] == [1, 2, 3]
    for name in ("sessions.csv", "relationships.csv", "events.csv", "clinic_map.png", "over_time.png",
                 "handover.png"):
        assert files[name].stat().st_size > 0, name
    assert files["clinic_map.png"].read_bytes().startswith(PNG_SIGNATURE)
    # and a student takes them home: one zip, downloaded by the browser
    with op.page.expect_download() as download:
        op.page.get_by_role("button", name=re.compile(r"Download these \d+ files")).click()
    saved = download.value.path()
    with zipfile.ZipFile(saved) as archive:
        names = {Path(n).name for n in archive.namelist()}
        assert names == set(files)
        assert archive.read(f"{written[0].name}/weekly.csv") == files["weekly.csv"].read_bytes()
    assert download.value.suggested_filename == f"{written[0].name}.zip"
    op.assert_clean()


def test_full_dashboard_screenshot(offline_page, dashboard_url, artifacts_dir):
    """Screenshots for people to look at: a clinic two years after a retirement, every tab."""
    op = offline_page
    op.goto(dashboard_url)
    preset = presets.load("retiring_file")
    choose_preset(op, preset.title)
    op.reset()
    op.page.locator(".as-running-title", has_text=preset.title).wait_for()
    set_weeks_per_update(op, "End")  # a year per Step
    week = 0
    while week <= preset.params["scheduled_retirement_week"] + 52:
        op.step()
        week = wait_for_week_after(op, week)
    op.page.locator(".as-map-caption", has_text=f"Week {week}:").wait_for()
    shots = [("dashboard.png", None, None), ("dashboard-over-time.png", "Over time", "timeseries"),
             ("dashboard-relationship.png", "Relationship", "relationship"),
             ("dashboard-event-log.png", "Event log", None), ("dashboard-handover.png", "Handover", "handover"),
             ("dashboard-info.png", "Info", None)]
    assert map_width(op) > 300
    for name, tab, picture in shots:
        if tab:
            open_tab(op, tab)
        if picture:
            assert image_size(op, picture) > 500
        op.page.wait_for_timeout(600)  # let the tab's slide-in finish
        path = op.screenshot(artifacts_dir / name)
        assert path.stat().st_size > 50_000
    # run the preset a few times, briefly, and show the spread
    open_tab(op, "Run N times")
    press_slider_labelled(op, "Runs", "Home")  # 2 runs
    press_slider_labelled(op, "Years per run", "Home")  # half a year: before the retirement, so
    op.page.get_by_text("scheduled_retirement_week=156 is after the end of the run").wait_for()  # refused
    for _ in range(6):
        op.page.keyboard.press("ArrowRight")  # 3.5 years: the retirement and a year after it
    op.page.get_by_role("button", name="Run this preset 2 times").click()
    assert image_size(op, "spread") > 500
    op.page.wait_for_timeout(600)
    op.screenshot(artifacts_dir / "dashboard-run-n-times.png")
    op.assert_clean()




def test_the_setup_survives_a_reload_and_a_link_shares_it(offline_page, dashboard_url, browser):
    op = offline_page
    op.goto(dashboard_url)
    preset = presets.load("retiring_file")
    choose_preset(op, preset.title)
    seed_box = op.page.locator(".as-seed input")
    seed_box.fill("7")
    seed_box.press("Enter")
    open_group(op, "Retirement and handover")
    type_param(op, "notice_weeks", "12")
    open_tab(op, "Handover")
    op.page.wait_for_url(re.compile(r"preset=retiring_file&seed=7&notice_weeks=12&tab=handover"))
    link = op.page.url
    op.page.reload()
    op.button("Step").wait_for()
    # a reload cancels whatever was still loading (the favicon, say): not a failure of the page
    op.failed_requests[:] = [f for f in op.failed_requests if "net::ERR_ABORTED" not in f]
    # the run starts with the setup in the address, on the same tab
    op.page.locator(".as-running-title", has_text=f"{preset.title} (1 value changed)").wait_for()
    assert op.page.locator(".as-running-seed").inner_text() == "7"
    op.page.locator(".as-countdown").wait_for()
    assert op.page.get_by_role("tab", name="Handover").get_attribute("aria-selected") == "true"
    open_group(op, "Retirement and handover")
    assert op.page.locator(".as-param-notice_weeks input[type=text]").input_value() == "12"
    # someone else opens the link
    other = browser.new_page()
    try:
        other.goto(link)
        other.locator(".as-running-title", has_text=f"{preset.title} (1 value changed)").wait_for()
        assert other.locator(".as-running-seed").inner_text() == "7"
    finally:
        other.close()
    op.assert_clean()


def test_a_tab_switch_clears_the_old_tab_at_once(offline_page, dashboard_url):
    op = offline_page
    op.goto(dashboard_url)
    op.step()
    wait_for_week(op, 1)
    op.page.locator(".as-map svg").wait_for()
    # click "Event log" and look at the next frame, long before the server's answer arrives
    old_visible = op.page.evaluate("""() => new Promise(done => {
        document.querySelector('.as-tab-3').click();
        requestAnimationFrame(() => requestAnimationFrame(() => {
            const old = document.querySelector('.as-pane-0');
            done(!!old && getComputedStyle(old).display !== 'none');
        }));
    })""")
    assert not old_visible, "the map stayed on screen after the click"
    op.page.locator(".as-log").wait_for()
    assert op.page.locator(".as-map").count() == 0
    op.assert_clean()
