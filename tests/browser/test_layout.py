"""Layout at a projector's, a laptop's and a phone's size: nothing overlaps, nothing needed is
off-screen, the sidebar keeps its width, labels are large enough to read from the back of a room.

Each size leaves a screenshot in ``test-artifacts/layout-<width>x<height>.png`` to look at.
"""

from __future__ import annotations

import pytest

from alliancesim import presets

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SIDEBAR_PX = 400
MIN_LABEL_PX = 16
#: The longest preset title: it must not widen the sidebar.
LONGEST = max((presets.load(n) for n in presets.names()), key=lambda p: len(p.title))

# Boxes of everything a student reads in the main area, by CSS selector (all matches).
MAIN_PARTS = [".as-kpi", ".as-running", ".as-tab", ".as-map svg", ".as-map-legend", ".as-map-caption",
              ".as-side-column .as-caption", ".as-recent li", ".as-predict", ".as-question-ask", ".as-choice",
              ".as-map-mode"]
# Text that must be at least MIN_LABEL_PX.
LABELS = [".as-kpi-label", ".v-tab", ".as-events li", ".as-caption", ".as-legend li", ".as-week-line",
          ".as-summary", ".as-notice li", ".v-navigation-drawer .v-label", ".as-group-title", ".as-help",
          ".as-question-ask", ".as-choice", ".as-predict-wait"]

BOXES_JS = """sels => sels.flatMap(sel => Array.from(document.querySelectorAll(sel)).map(e => {
    const r = e.getBoundingClientRect(); const s = getComputedStyle(e);
    return {sel, text: (e.innerText || '').slice(0, 40), x: r.left, y: r.top, w: r.width, h: r.height,
            visible: r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.display !== 'none'};
}))"""
FONTS_JS = """sels => sels.flatMap(sel => Array.from(document.querySelectorAll(sel))
    .filter(e => e.getBoundingClientRect().width > 0)
    .map(e => ({sel, text: (e.innerText || '').slice(0, 30), px: parseFloat(getComputedStyle(e).fontSize)})))"""


def overlaps(a: dict, b: dict, tolerance: float = 1.0) -> bool:
    return (a["x"] + tolerance < b["x"] + b["w"] and b["x"] + tolerance < a["x"] + a["w"]
            and a["y"] + tolerance < b["y"] + b["h"] and b["y"] + tolerance < a["y"] + a["h"])


def boxes(page, selectors: list[str]) -> list[dict]:
    return [b for b in page.evaluate(BOXES_JS, selectors) if b["visible"]]


def check_on_screen_and_apart(page, width: int, parts: list[str]) -> list[dict]:
    found = boxes(page, parts)
    for sel in (".as-kpi", ".as-tab", ".as-map svg", ".as-predict", ".as-choice"):  # default asks a question
        assert any(b["sel"] == sel for b in found), f"nothing matches {sel}"
    off = [b for b in found if b["x"] < -1 or b["x"] + b["w"] > width + 1]
    off = [b for b in off if b["sel"] != ".as-tab"]  # tabs scroll sideways, with arrows (checked apart)
    assert not off, f"off-screen at width {width}: {off}"
    tiles = [b for b in found if b["sel"] == ".as-kpi"]
    assert len(tiles) == 8
    spilling = page.evaluate("() => Array.from(document.querySelectorAll('.as-kpi'))"
                             ".filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.innerText)")
    assert not spilling, f"text runs out of its tile at width {width}: {spilling}"
    for i, a in enumerate(tiles):
        for b in tiles[i + 1:]:
            assert not overlaps(a, b), f"tiles overlap: {a} {b}"
    blocks = [b for b in found if b["sel"] in (".as-map svg", ".as-map-legend", ".as-side-column .as-caption",
                                               ".as-running", ".as-predict", ".as-tab", ".as-map-mode")]
    choices = [b for b in found if b["sel"] == ".as-choice"]
    for i, a in enumerate(choices):  # the answers to pick wrap onto lines of their own, never on top
        for b in choices[i + 1:]:
            assert not overlaps(a, b), f"choices overlap at width {width}: {a} {b}"
    for i, a in enumerate(blocks):
        for b in blocks[i + 1:]:
            assert not overlaps(a, b), f"overlap at width {width}: {a} {b}"
    return found


def check_labels(page) -> None:
    small = [f for f in page.evaluate(FONTS_JS, LABELS) if f["px"] < MIN_LABEL_PX - 0.01]
    assert not small, f"labels under {MIN_LABEL_PX}px: {small[:8]}"


def info_tab_is_reachable(op) -> None:
    tab = op.page.get_by_role("tab", name="Info")
    tab.scroll_into_view_if_needed()
    tab.click()
    op.page.get_by_text("WHAT IS IT?").wait_for()


@pytest.mark.parametrize("width, height", [(1920, 1080), (1280, 720)])
def test_desktop_layout(browser, dashboard_url, artifacts_dir, width, height):
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    try:
        from .conftest import OfflinePage
        op = OfflinePage(page).attach()
        op.goto(dashboard_url)
        op.page.locator(".as-weeks-per-update .v-slider__thumb-container").focus()
        op.page.keyboard.press("End")  # a year per Step: the map after a year must stay legible
        op.step()
        op.wait_for_time(52)
        op.page.locator(".as-preset-select").click()
        op.page.get_by_role("option", name=LONGEST.title, exact=True).click()
        op.page.locator(".as-summary", has_text=LONGEST.summary[:30]).wait_for()
        drawer = boxes(page, [".v-navigation-drawer"])[0]
        assert abs(drawer["w"] - SIDEBAR_PX) <= 1, f"sidebar is {drawer['w']} px wide with a long title"
        found = check_on_screen_and_apart(page, width, MAIN_PARTS)
        main_left = min(b["x"] for b in found)
        assert main_left >= drawer["x"] + drawer["w"] - 1, "the sidebar covers the main area"
        check_labels(page)
        page.screenshot(path=str(artifacts_dir / f"layout-{width}x{height}.png"))
        info_tab_is_reachable(op)
        op.assert_clean()
    finally:
        context.close()


def test_phone_layout(browser, dashboard_url, artifacts_dir):
    width, height = 390, 844
    context = browser.new_context(viewport={"width": width, "height": height}, has_touch=True, is_mobile=True)
    page = context.new_page()
    try:
        from .conftest import OfflinePage
        op = OfflinePage(page).attach()
        op.goto(dashboard_url)
        drawer = boxes(page, [".v-navigation-drawer"])[0]
        assert drawer["w"] < width, "the open sidebar covers the whole phone"
        for name in ("Reset", "▶", "Step"):  # in the bar at the top, above the open sidebar
            button = op.button(name)
            box = button.bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= width, name
        page.screenshot(path=str(artifacts_dir / f"layout-{width}x{height}-sidebar.png"))
        op.page.locator(".v-app-bar .v-app-bar__nav-icon").click()  # close the sidebar
        op.page.wait_for_function("() => { const d = document.querySelector('.v-navigation-drawer');"
                                  " const r = d.getBoundingClientRect(); return r.right <= 0 || r.width === 0; }")
        op.step()
        op.wait_for_time(1)
        check_on_screen_and_apart(page, width, MAIN_PARTS)
        check_labels(page)
        page.screenshot(path=str(artifacts_dir / f"layout-{width}x{height}.png"), full_page=True)
        info_tab_is_reachable(op)
        op.assert_clean()
    finally:
        context.close()
