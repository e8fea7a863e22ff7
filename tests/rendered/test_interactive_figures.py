"""The interactive figures of the built book, driven with the keyboard in headless Chromium.

Every chapter whose stored outputs hold an ``InteractiveFigure``
(``<div class="mtl-interactive">``) is opened once, offline: requests to
other sites are aborted and fail the test, as in ``test_browser.py``. In each
figure the script must have replaced the no-JavaScript sentence with controls
and an SVG chart that has an accessible name, the title must name the static
figure by its number, and the figure must fit the content column. Then every
control is reached and moved with the keyboard (Tab to the first; ArrowDown
in a menu, ArrowRight on a slider, Space on a checkbox), and the chart and
its status line must change, then return when the control is moved back. In
the theme's dark mode the figure turns dark, with text and lines keeping
their contrast (light mode is checked as well).

``test_browser.py`` visits these pages too (console errors, axe-core,
sideways scrolling); this module adds what only interaction can show.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from book_pages import CHAPTERS, MIN_CONTRAST, VIEWPORT, BookPage, contrast_ratio, is_local

MIN_GRAPHIC_CONTRAST = 3.0  # WCAG 2 AA for the parts of a chart (1.4.11)
ROOT = Path(__file__).resolve().parents[2]


def _has_interactive_figure(page: BookPage) -> bool:
    """Whether the chapter's stored outputs hold an InteractiveFigure (read at collection time)."""
    notebook = json.loads(page.source.read_text(encoding="utf-8"))
    return any(
        "mtl-interactive" in "".join(output.get("data", {}).get("text/html", ""))
        for cell in notebook["cells"]
        if cell["cell_type"] == "code"
        for output in cell.get("outputs", [])
    )


PAGES = [page for page in CHAPTERS if _has_interactive_figure(page)]

# The keys that move each kind of control forward, and back.
KEYS = {"select": ("ArrowDown", "ArrowUp"), "range": ("ArrowRight", "ArrowLeft"), "checkbox": ("Space", "Space")}

CHART_STATE = """(root) => {
  const plot = root.querySelector(".mtl-interactive__plot");
  const marks = plot ? Array.from(plot.querySelectorAll("path, circle"),
    (n) => n.getAttribute("d") || `${n.getAttribute("cx")},${n.getAttribute("cy")}`) : [];
  return {marks: marks.join(" "), status: root.querySelector(".mtl-interactive__status").textContent};
}"""

CONTROLS = """(root) => Array.from(root.querySelectorAll("select, input[type=range], input[type=checkbox]"), (c) => ({
  kind: c.tagName === "SELECT" ? "select" : c.type, id: c.id,
  label: (c.labels && c.labels[0] ? c.labels[0].textContent.trim() : ""),
  atEnd: c.tagName === "SELECT" ? c.selectedIndex === c.options.length - 1
       : c.type === "range" ? Number(c.value) === Number(c.max) : false,
}))"""

COLOURS = """(root) => {
  const style = getComputedStyle(root);
  return {
    background: style.backgroundColor, text: style.color,
    status: getComputedStyle(root.querySelector(".mtl-interactive__status")).color,
    ticks: Array.from(root.querySelectorAll(".mtl-interactive__axis text"), (t) => getComputedStyle(t).fill),
    lines: Array.from(root.querySelectorAll(".mtl-interactive__line-path"),
                      (p) => [p.closest("g").dataset.line, getComputedStyle(p).stroke]),
  };
}"""


def test_the_book_has_interactive_figures() -> None:
    """At least the chapters on when sharing pays and on soft sharing carry one (issue 17)."""
    names = {page.docname for page in PAGES}
    assert {"notebooks/ch7_when_sharing_pays", "notebooks/ch8_soft_sharing"} <= names, sorted(names)


def test_every_built_page_with_an_interactive_figure_is_tested(site: Any) -> None:
    built = {
        path.relative_to(site.root).with_suffix("").as_posix()
        for path in site.root.rglob("*.html")
        if 'class="mtl-interactive"' in path.read_text(encoding="utf-8")
    }
    assert built == {page.docname for page in PAGES}


def _open(browser: Any, site: Any, page: BookPage, *, dark: bool = False) -> tuple[Any, Any, list[str]]:
    """A fresh context (dark or light theme) that aborts and records requests to other sites."""
    blocked: list[str] = []
    context = browser.new_context(viewport=VIEWPORT, color_scheme="dark" if dark else "light")
    mode = "dark" if dark else "light"
    context.add_init_script(f"localStorage.setItem('mode', '{mode}'); localStorage.setItem('theme', '{mode}');")

    def block(route: Any) -> None:
        blocked.append(route.request.url)
        route.abort("blockedbyclient")

    context.route(lambda url: not is_local(url), block)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    tab.goto(site.url(page.html), wait_until="load")
    return context, tab, blocked + errors


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.docname)
def test_every_control_moves_the_figure(page: BookPage, browser: Any, site: Any) -> None:
    context, tab, problems = _open(browser, site, page)
    try:
        figures = tab.locator(".mtl-interactive")
        assert figures.count() > 0, f"{page.html}: no interactive figure"
        for index in range(figures.count()):
            root = figures.nth(index)
            name = root.get_attribute("id")
            assert root.locator(".mtl-interactive__fallback").count() == 0, f"{name}: the fallback sentence is still there"
            svg = root.locator("svg.mtl-interactive__svg")
            assert svg.count() == 1 and svg.get_attribute("role") == "img", f"{name}: no SVG chart with role=img"
            assert len(svg.get_attribute("aria-label") or "") > 20, f"{name}: the chart has no useful aria-label"
            title = root.locator(".mtl-interactive__title a").inner_text()
            assert re.fullmatch(r"Fig\. \d+(\.\d+)*", title), f"{name}: the title names {title!r}, not the static figure"
            widths = root.evaluate("(r) => [r.scrollWidth, r.clientWidth, r.querySelector('svg').getBoundingClientRect().width]")
            assert widths[0] <= widths[1] + 1 and widths[2] <= widths[1], f"{name}: wider than its box {widths}"

            controls = root.evaluate(CONTROLS)
            assert controls, f"{name}: no controls"
            assert all(control["label"] for control in controls), f"{name}: a control without a <label>: {controls}"
            # The first control is reached from the title's link with Tab, and shows its focus.
            root.locator(".mtl-interactive__title a").focus()
            tab.keyboard.press("Tab")
            focused = tab.evaluate("() => [document.activeElement.id, getComputedStyle(document.activeElement).outlineStyle]")
            assert focused[0] == controls[0]["id"], f"{name}: Tab from the title reaches {focused[0]!r}, not the first control"
            assert focused[1] != "none", f"{name}: the focused control shows no outline"
            for control in controls:
                forward, back = KEYS[control["kind"]]
                if control["atEnd"]:
                    forward, back = back, forward
                before = root.evaluate(CHART_STATE)
                tab.locator(f"#{control['id']}").focus()
                tab.keyboard.press(forward)
                after = root.evaluate(CHART_STATE)
                where = f"{name}: {control['kind']} {control['label']!r}"
                assert after["marks"] != before["marks"], f"{where}: {forward} did not change the chart"
                assert after["status"] != before["status"], f"{where}: the status line did not change"
                tab.keyboard.press(back)
                assert root.evaluate(CHART_STATE) == before, f"{where}: moving it back did not restore the chart"
        assert not problems, f"{page.html}: " + "\n".join(problems)
    finally:
        context.close()


def _brightness(css_color: str) -> float:
    """Contrast with black: 1 for black, 21 for white."""
    return contrast_ratio(css_color, "rgb(0, 0, 0)")


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.docname)
def test_figures_follow_the_theme_and_stay_readable(page: BookPage, dark: bool, browser: Any, site: Any) -> None:
    context, tab, problems = _open(browser, site, page, dark=dark)
    try:
        assert tab.evaluate("document.documentElement.dataset.theme") == ("dark" if dark else "light")
        figures = tab.locator(".mtl-interactive")
        for index in range(figures.count()):
            root = figures.nth(index)
            name = root.get_attribute("id")
            colours = root.evaluate(COLOURS)
            background = colours["background"]
            theme = "dark" if dark else "light"
            assert (_brightness(background) < 3) == dark, f"{name}: background {background} in the {theme} theme"
            for role, colour in [("text", colours["text"]), ("status", colours["status"])] + [
                ("tick label", tick) for tick in colours["ticks"]
            ]:
                ratio = contrast_ratio(colour, background)
                assert ratio >= MIN_CONTRAST, f"{name}: {role} {colour} on {background}: contrast {ratio:.2f}"
            assert colours["lines"], f"{name}: no line drawn"
            for line, colour in colours["lines"]:
                ratio = contrast_ratio(colour, background)
                assert ratio >= MIN_GRAPHIC_CONTRAST, f"{name}: line {line!r} {colour} on {background}: contrast {ratio:.2f}"
        if dark:
            shot = ROOT / "test-artifacts" / "dark" / (page.docname.replace("/", "__") + "__interactive.jpg")
            shot.parent.mkdir(parents=True, exist_ok=True)
            figures.first.screenshot(path=str(shot), type="jpeg", quality=80)
        assert not problems, f"{page.html}: " + "\n".join(problems)
    finally:
        context.close()


LEGEND_KEYS = """(root) => Array.from(root.querySelectorAll(".mtl-interactive__line"), (label) => {
  const key = label.querySelector(".mtl-interactive__marker > *");
  return [label.textContent.trim(), getComputedStyle(key).fill, key.tagName,
          key.getAttribute("d") || "circle"];
})"""


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.docname)
def test_every_line_has_its_own_colour_and_marker(page: BookPage, browser: Any, site: Any) -> None:
    """More lines than colours (chapter 6: ten) are told apart by the marker shown in the legend too."""
    context, tab, problems = _open(browser, site, page)
    try:
        figures = tab.locator(".mtl-interactive")
        for index in range(figures.count()):
            keys = figures.nth(index).evaluate(LEGEND_KEYS)
            # A marker's shape: a circle, or a path told apart by its number of straight segments.
            looks = [(fill, "circle" if tag == "circle" else f"path with {shape.count('L')} segments")
                     for _, fill, tag, shape in keys]
            seen = {}
            for (name, *_), look in zip(keys, looks, strict=True):
                assert look not in seen, f"{page.html}: lines {seen[look]!r} and {name!r} look the same {look}"
                seen[look] = name
        assert not problems, f"{page.html}: {problems}"
    finally:
        context.close()
