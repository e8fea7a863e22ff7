"""The built book, read in a real browser (headless Chromium through Playwright).

For every page of the build: no console errors, no failed requests and no
request to another site, every image loaded, every same-site link and anchor
resolves, no serious or critical axe-core accessibility violation, no code,
output, table or formula that needs sideways scrolling in a 1280 x 900 window
(collapsed solutions opened), and a full-page screenshot in
``test-artifacts/pages/``. Then the reader features:
the search page finds the chapters, chapter pages carry the launch and
download buttons and hide solutions until clicked, and a chapter stays
readable in the dark theme (screenshot in ``test-artifacts/dark/``).

Requests to hosts other than the local server are aborted and counted as
failures when the page itself makes them: the book must work offline and
must not call other sites behind the reader's back. Links to other sites are
only links (the reader's choice), so their targets are not fetched; the
launch links are checked against ``_config.yml`` instead. Chromium's own
background traffic is switched off by its flags and is never a page request.

The pages are the documents of ``_toc.yml`` whose source exists, plus
Sphinx's ``search`` and ``genindex`` pages; ``test_every_built_page_is_tested``
checks that the build produced exactly these, so a page added later is
tested too.
"""

from __future__ import annotations

import re
from io import BytesIO
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from book_pages import (
    ARTIFACTS,
    CHAPTERS,
    PAGES,
    VIEWPORT,
    BookPage,
    Visitor,
    axe_violations,
    book_config,
    broken_links,
    page_id,
    page_title,
)

SEARCH_WORDS = ("alternating", "joint")

@pytest.fixture(scope="session")
def visitor(browser: Any, site: Any) -> Any:
    visitor = Visitor(browser, site)
    yield visitor
    visitor.close()


def _describe_violation(violation: dict[str, Any]) -> str:
    targets = "; ".join(
        " ".join(node["target"]) if isinstance(node["target"], list) else str(node["target"]) for node in violation["nodes"][:5]
    )
    return f"{violation['id']} ({violation['impact']}): {violation['help']} -- {len(violation['nodes'])} element(s): {targets}"


# ---------------------------------------------------------------------------
# Every page
# ---------------------------------------------------------------------------


def test_every_built_page_is_tested(site: Any) -> None:
    """The build made exactly the pages this module visits (plus Jupyter Book's index.html redirect)."""
    built = {
        path.relative_to(site.root).as_posix()
        for path in site.root.rglob("*.html")
        if not path.relative_to(site.root).parts[0].startswith("_")
    }
    expected = {page.html for page in PAGES} | {"index.html"}
    assert built == expected, (
        f"built but not tested: {sorted(built - expected)}; expected but not built: {sorted(expected - built)}"
    )


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_page_loads_without_errors(page: BookPage, visitor: Visitor) -> None:
    report = visitor.report(page.html)
    hint = ""
    if any("jupyter-widgets" in line or "require.js" in line for line in report.failed_requests):
        hint = (
            "\nThe notebook stores ipywidgets outputs (a tqdm progress bar, say), so the page loads the widget"
            " libraries from a CDN. Re-execute it without bars: in a notebook tqdm.auto turns disable=None"
            " into False, so pass disable=True."
        )
    assert not report.console_errors, f"{page.html}: console errors:\n" + "\n".join(report.console_errors) + hint
    assert not report.failed_requests, f"{page.html}: failed requests:\n" + "\n".join(report.failed_requests) + hint


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_images_load(page: BookPage, visitor: Visitor) -> None:
    report = visitor.report(page.html)
    assert not report.broken_images, (
        f"{page.html}: {len(report.broken_images)} of {report.image_count} images did not load: {report.broken_images}"
    )


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_internal_links_resolve(page: BookPage, visitor: Visitor, site: Any) -> None:
    report = visitor.report(page.html)
    problems = broken_links(report.hrefs, site.root, site.base_url)
    assert not problems, f"{page.html}: broken links:\n" + "\n".join(problems)


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_no_serious_accessibility_violations(page: BookPage, visitor: Visitor) -> None:
    report = visitor.report(page.html)
    assert not report.axe_violations, f"{page.html}: axe-core found:\n" + "\n".join(
        map(_describe_violation, report.axe_violations)
    )


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_no_block_scrolls_sideways(page: BookPage, visitor: Visitor) -> None:
    """At 1280 x 900 every code cell, output, table and formula fits the column (issue 11).

    Fix code by wrapping lines at about 88 characters; fix an output by making
    the code print it narrower (or as a DataFrame, shown as an HTML table).
    """
    report = visitor.report(page.html)
    if report.wide_blocks:
        pytest.fail(
            f"{page.html}: {len(report.wide_blocks)} block(s) scroll sideways at {VIEWPORT['width']} px"
            " (each named by its first line):\n" + "\n".join(report.wide_blocks),
            pytrace=False,
        )


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_full_page_screenshot(page: BookPage, visitor: Visitor) -> None:
    report = visitor.report(page.html)
    assert report.screenshot is not None and report.screenshot.stat().st_size > 0
    assert report.seconds < 30, f"{page.html} took {report.seconds:.1f} s to load and check"


def test_every_page_names_its_favicon(site: Any) -> None:
    """Without a <link rel="icon">, browsers request /favicon.ico and log a 404 on the first page (issue 11)."""
    missing = []
    for page in PAGES:
        html = (site.root / page.html).read_text(encoding="utf-8")
        match = re.search(r'<link[^>]*rel="(?:shortcut )?icon"[^>]*href="([^"]+)"', html)
        if match is None or not (site.root / page.html).parent.joinpath(match[1].split("?")[0]).resolve().is_file():
            missing.append(f"{page.html}: {match[1] if match else 'no <link rel=icon>'}")
    assert not missing, "pages without a favicon that loads:\n" + "\n".join(missing)
    assert (site.root / "favicon.ico").is_file(), "no /favicon.ico, which browsers request for pages without an icon link"


# ---------------------------------------------------------------------------
# Search
# ---------------------------------------------------------------------------


def _search(browser: Any, site: Any, word: str) -> list[tuple[str, str]]:
    page = browser.new_page(viewport=VIEWPORT)
    try:
        page.goto(site.url(f"search.html?q={word}"), wait_until="load")
        page.wait_for_function(
            "() => { const s = document.querySelector('#search-results .search-summary');"
            " return s && /finished|did not match/i.test(s.textContent); }",
            timeout=20_000,
        )
        links = page.locator("#search-results ul.search li > a")
        results = [(links.nth(i).get_attribute("href") or "", links.nth(i).inner_text().strip()) for i in range(links.count())]
        page.screenshot(path=str(ARTIFACTS / "pages" / f"search-{word}.jpg"), full_page=True, type="jpeg", quality=80)
        return results
    finally:
        page.close()


@pytest.mark.parametrize("word", SEARCH_WORDS)
def test_search_finds_the_chapters(word: str, browser: Any, site: Any) -> None:
    """The chapters whose title names the method come up when a reader searches for it."""
    titles = {page.html: page_title(site.root / page.html) for page in CHAPTERS}
    expected = {html: title for html, title in titles.items() if word in title.lower()}
    if not expected:
        pytest.skip(f"no chapter with {word!r} in its title is built yet (chapters: {sorted(titles.values())})")
    (ARTIFACTS / "pages").mkdir(parents=True, exist_ok=True)
    results = _search(browser, site, word)
    found = {urlsplit(href).path.lstrip("/").split("#")[0]: text for href, text in results}
    for html, title in expected.items():
        assert html in found, f"searching {word!r} does not list {html} ({title!r}); results: {results}"
        assert found[html] == title, f"searching {word!r} lists {html} as {found[html]!r}, expected its title {title!r}"


# ---------------------------------------------------------------------------
# Chapter pages: launch and download buttons, hidden solutions
# ---------------------------------------------------------------------------


def _expected_launch_urls(docname: str) -> dict[str, str]:
    config = book_config()
    repository = config["repository"]
    org, repo = repository["url"].rstrip("/").removesuffix(".git").split("/")[-2:]
    branch = repository.get("branch", "main")
    notebook = f"{repository.get('path_to_book', '').strip('/') + '/' if repository.get('path_to_book') else ''}{docname}.ipynb"
    launch = config["launch_buttons"]
    return {
        "Colab": f"{launch['colab_url'].rstrip('/')}/github/{org}/{repo}/blob/{branch}/{notebook}",
        "Binder": f"{launch['binderhub_url'].rstrip('/')}/v2/gh/{org}/{repo}/{branch}?urlpath=lab/tree/{notebook}",
    }


@pytest.fixture
def chapter_page(browser: Any, site: Any, request: pytest.FixtureRequest) -> Any:
    page = browser.new_page(viewport=VIEWPORT)
    page.goto(site.url(request.param.html), wait_until="load")
    yield page
    page.close()


@pytest.mark.parametrize("chapter_page", CHAPTERS, ids=page_id, indirect=True)
def test_chapter_has_launch_and_download_buttons(chapter_page: Any, site: Any) -> None:
    docname = urlsplit(chapter_page.url).path.lstrip("/").removesuffix(".html")
    for name, url in _expected_launch_urls(docname).items():
        link = chapter_page.locator(f'.dropdown-launch-buttons a[href="{url}"]')
        assert link.count() == 1, f"{docname}: no {name} launch button to {url}"
    chapter_page.locator(".dropdown-launch-buttons button.dropdown-toggle").click()
    for name, url in _expected_launch_urls(docname).items():
        assert chapter_page.locator(f'.dropdown-launch-buttons a[href="{url}"]').is_visible(), (
            f"{name} button hidden after opening the launch menu"
        )
    download = chapter_page.locator('.dropdown-download-buttons a[href$=".ipynb"]')
    assert download.count() == 1, f"{docname}: no download button for the notebook"
    target = urlsplit(download.evaluate("(a) => a.href")).path.lstrip("/")
    assert (site.root / target).is_file(), f"{docname}: the download button points to {target}, which is not in the build"


@pytest.mark.parametrize("chapter_page", CHAPTERS, ids=page_id, indirect=True)
def test_solutions_are_hidden_until_clicked(chapter_page: Any) -> None:
    outputs = chapter_page.locator(".cell.tag_solution details.hide.below-input")  # hide-output: the answer's output
    for index in range(outputs.count()):
        assert not outputs.nth(index).locator(".cell_output").is_visible(), f"solution output {index + 1} is visible"
    solutions = chapter_page.locator(".cell.tag_solution details.hide.above-input")
    assert solutions.count() > 0, "no solution cell (tags hide-input + solution) on this chapter page"
    for index in range(solutions.count()):
        toggle = solutions.nth(index)
        code = toggle.locator(".cell_input pre")
        assert not code.is_visible(), f"solution {index + 1} is visible before it is clicked"
        toggle.locator("summary").click()
        code.wait_for(state="visible", timeout=5_000)
        assert "### BEGIN SOLUTION" in code.inner_text(), f"solution {index + 1} does not show its solution code"


# ---------------------------------------------------------------------------
# Dark mode
# ---------------------------------------------------------------------------


def _luminance(image: Any) -> float:
    grey = image.convert("L")
    return sum(grey.getdata()) / (grey.width * grey.height)


def _dark_mode_page(root: Path) -> BookPage:
    """The first chapter with figures (else the first chapter, else the first page)."""
    with_figures = [page for page in CHAPTERS if 'src="../_images/' in (root / page.html).read_text(encoding="utf-8")]
    return (with_figures or CHAPTERS or PAGES)[0]


def test_dark_mode_keeps_figures_and_text_readable(browser: Any, site: Any) -> None:
    """A chapter in the theme's dark mode: the page turns dark, figures keep their light card, text keeps its contrast."""
    from PIL import Image

    page_info = _dark_mode_page(site.root)
    context = browser.new_context(viewport=VIEWPORT, color_scheme="dark")
    context.add_init_script("localStorage.setItem('mode', 'dark'); localStorage.setItem('theme', 'dark');")
    from axe_playwright_python.base import AXE_SCRIPT

    context.add_init_script(AXE_SCRIPT)
    page = context.new_page()
    try:
        page.goto(site.url(page_info.html), wait_until="load")
        page.wait_for_load_state("networkidle")
        assert page.evaluate("document.documentElement.dataset.theme") == "dark"
        (ARTIFACTS / "dark").mkdir(parents=True, exist_ok=True)
        shot = ARTIFACTS / "dark" / (page_info.docname.replace("/", "__") + ".jpg")
        page.screenshot(path=str(shot), full_page=True, type="jpeg", quality=80)
        corner = Image.open(BytesIO(page.screenshot(clip={"x": 0, "y": 0, "width": 40, "height": 40})))
        assert _luminance(corner) < 80, "the page background is not dark in dark mode"
        figures = page.locator(".cell_output img")
        for index in range(figures.count()):
            figure = figures.nth(index)
            figure.scroll_into_view_if_needed()
            picture = Image.open(BytesIO(figure.screenshot()))
            top = picture.crop((0, 0, picture.width, max(1, picture.height // 20)))
            assert _luminance(top) > 150, f"figure {index + 1} of {page_info.html} is not on a light card in dark mode"
        violations = [v for v in axe_violations(page) if v["id"] in ("color-contrast", "code-color-contrast")]
        assert not violations, f"{page_info.html} in dark mode:\n" + "\n".join(map(_describe_violation, violations))
    finally:
        context.close()


def test_browser_selection(chromium_finder: Any) -> None:
    """MTL_BOOK_CHROMIUM wins, then a system browser; a bad MTL_BOOK_CHROMIUM is an error, not a skip."""
    on_path = {"chromium": "/usr/bin/chromium", "/opt/chrome": "/opt/chrome"}.get
    assert chromium_finder({"MTL_BOOK_CHROMIUM": "/opt/chrome"}, on_path) == "/opt/chrome"
    assert chromium_finder({}, on_path) == "/usr/bin/chromium"
    assert chromium_finder({}, lambda name: None) is None
    with pytest.raises(RuntimeError, match=re.escape("apt-get install chromium")):
        chromium_finder({"MTL_BOOK_CHROMIUM": "/nowhere/chrome"}, lambda name: None)


def test_the_one_command_when_no_browser_can_be_had() -> None:
    """tools/ensure_browser.py: the command it prints when it could neither find nor install a browser."""
    from tools.ensure_browser import manual_command

    assert manual_command(root=False, apt=True, debian=True) == "sudo apt-get install -y --no-install-recommends chromium"
    assert manual_command(root=True, apt=True, debian=True) == "apt-get install -y --no-install-recommends chromium"
    assert manual_command(root=False, apt=True, debian=False).startswith("sudo ")
    assert manual_command(root=False, apt=True, debian=False).endswith("playwright install --with-deps chromium")
    assert manual_command(root=False, apt=False, debian=False).endswith("playwright install chromium")
