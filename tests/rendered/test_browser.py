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
import time
from dataclasses import dataclass, field
from functools import cache
from html.parser import HTMLParser
from io import BytesIO
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
SOURCE_SUFFIXES = (".md", ".ipynb", ".rst")
SPECIAL_PAGES = ("search", "genindex")
BLOCKING_IMPACTS = ("serious", "critical")
# axe-core runs every rule it runs by default, in two passes: the page without its code blocks, then
# the code blocks without color-contrast. Checking the contrast of thousands of highlighted tokens
# takes axe seconds per page; CODE_COLORS_SCRIPT checks each distinct (colour, background) pair of
# the code instead, in milliseconds. preload=False: axe's own re-fetch of stylesheets resolves
# @import against the wrong base and requests a file that does not exist.
CODE = ".highlight pre"
AXE_RUNS = (
    ({"exclude": [[CODE]]}, {"resultTypes": ["violations"], "preload": False}),
    ({"include": [[CODE]]}, {"resultTypes": ["violations"], "preload": False, "rules": {"color-contrast": {"enabled": False}}}),
)
MIN_CONTRAST = 4.5  # WCAG 2 AA for normal-size text
SEARCH_WORDS = ("alternating", "joint")
VIEWPORT = {"width": 1280, "height": 900}
LOCAL_HOSTS = ("127.0.0.1", "localhost")


# ---------------------------------------------------------------------------
# Which pages: the table of contents, read at collection time
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class BookPage:
    docname: str  # e.g. "notebooks/ch1_computation_graphs"
    source: Path | None  # None for pages Sphinx generates (search, genindex)

    @property
    def html(self) -> str:
        return f"{self.docname}.html"

    @property
    def is_chapter(self) -> bool:
        return self.source is not None and self.source.suffix == ".ipynb"


def _toc_docnames(toc: dict[str, Any]) -> list[str]:
    names = [toc["root"]]

    def walk(entries: list[dict[str, Any]]) -> None:
        for entry in entries or []:
            if "file" in entry:
                names.append(entry["file"])
            for key in ("sections", "chapters"):
                walk(entry.get(key, []))
            for part in entry.get("parts", []):
                walk(part.get("chapters", []))

    for part in toc.get("parts", []):
        walk(part.get("chapters", []))
    walk(toc.get("chapters", []))
    return names


def book_pages(root: Path = ROOT) -> list[BookPage]:
    """Pages the build produces: toc documents whose source exists, then search and genindex."""
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    pages = []
    for docname in _toc_docnames(toc):
        docname = docname.removesuffix(Path(docname).suffix) if Path(docname).suffix in SOURCE_SUFFIXES else docname
        source = next(
            (root / f"{docname}{suffix}" for suffix in SOURCE_SUFFIXES if (root / f"{docname}{suffix}").is_file()), None
        )
        if source is not None:
            pages.append(BookPage(docname, source))
    return [*pages, *(BookPage(name, None) for name in SPECIAL_PAGES)]


PAGES = book_pages()
CHAPTERS = [page for page in PAGES if page.is_chapter]


def _page_id(page: BookPage) -> str:
    return page.docname


def _config() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))


# ---------------------------------------------------------------------------
# Reading built HTML without a browser (ids for anchors, titles)
# ---------------------------------------------------------------------------


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name == "id" or (tag == "a" and name == "name"):
                self.ids.add(value or "")
        self._in_title = tag == "title"

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data


@cache
def _parsed(path: Path) -> _Anchors:
    parser = _Anchors()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def page_title(path: Path) -> str:
    """The page's own title: ``<title>`` without the " — book title" suffix."""
    return _parsed(path).title.split("\u2014")[0].strip()


def broken_links(hrefs: list[str], root: Path, base_url: str) -> list[str]:
    """Same-site links whose file or ``#fragment`` does not exist in the build."""
    base = urlsplit(base_url)
    problems = []
    for href in sorted(set(hrefs)):
        parts = urlsplit(href)
        if parts.scheme not in ("http", "https") or parts.netloc != base.netloc:
            continue
        path = unquote(parts.path).lstrip("/")
        target = root / path
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            problems.append(f"{href}: no file {path!r} in the build")
        elif parts.fragment and target.suffix == ".html" and unquote(parts.fragment) not in _parsed(target).ids:
            problems.append(f"{href}: {target.relative_to(root)} has no id {unquote(parts.fragment)!r}")
    return problems


# ---------------------------------------------------------------------------
# Visiting a page once and remembering what happened
# ---------------------------------------------------------------------------


@dataclass
class PageReport:
    url: str
    console_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    broken_images: list[str] = field(default_factory=list)
    image_count: int = 0
    hrefs: list[str] = field(default_factory=list)
    axe_violations: list[dict[str, Any]] = field(default_factory=list)
    screenshot: Path | None = None
    wide_blocks: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _is_local(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("data", "blob", "about") or parts.hostname in LOCAL_HOSTS


_IMAGES_SCRIPT = """async () => {
  const images = Array.from(document.images);
  for (const image of images) { image.loading = "eager"; }
  await Promise.all(images.map((image) => image.decode().catch(() => null)));
  return {
    count: images.length,
    broken: images.filter((image) => !(image.complete && image.naturalWidth > 0))
                  .map((image) => image.currentSrc || image.src || image.outerHTML.slice(0, 120)),
  };
}"""

# Blocks of the page's content that scroll sideways (overflow-x auto or scroll, and content wider than the
# box), with every <details> opened first: hidden solutions must fit too once a reader opens them.
WIDE_BLOCKS_SCRIPT = """() => {
  const content = document.querySelector(".bd-article") || document.querySelector("main") || document.body;
  for (const details of content.querySelectorAll("details")) { details.open = true; }
  const kind = (element) => {
    if (element.closest(".cell_input")) return "code cell";
    if (element.closest(".cell_output")) return "output";
    if (element.closest("table") || element.querySelector("table")) return "table";
    if (element.closest("mjx-container, .math")) return "formula";
    if (element.closest("div.highlight, pre")) return "code block";
    return element.tagName.toLowerCase();
  };
  const wide = [];
  for (const element of content.querySelectorAll("*")) {
    if (element.clientWidth === 0 || element.scrollWidth <= element.clientWidth + 1) continue;
    const overflow = getComputedStyle(element).overflowX;
    if (overflow !== "auto" && overflow !== "scroll") continue;
    const lines = (element.innerText || element.textContent || "").trim().split("\\n");
    const longest = Math.max(...lines.map((line) => line.length));
    wide.push(`${kind(element)} ${JSON.stringify(lines[0].slice(0, 90))}: ${element.scrollWidth} px wide in `
              + `${element.clientWidth} px (longest line: ${longest} characters)`);
  }
  const page = document.scrollingElement;
  if (page.scrollWidth > page.clientWidth + 1) {
    wide.push(`the page itself: ${page.scrollWidth} px wide in ${page.clientWidth} px`);
  }
  return wide;
}"""

_MATH_SCRIPT = """async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  const errors = Array.from(document.querySelectorAll("mjx-merror"));
  return errors.map((node) => node.getAttribute("data-mjx-error") || node.textContent);
}"""


CODE_COLORS_SCRIPT = """(selector) => {
  const background = (element) => {
    for (let e = element; e; e = e.parentElement) {
      const color = getComputedStyle(e).backgroundColor;
      if (color && color !== "transparent" && color !== "rgba(0, 0, 0, 0)") return color;
    }
    return "rgb(255, 255, 255)";
  };
  const pairs = new Map();
  for (const element of document.querySelectorAll(`${selector}, ${selector} span`)) {
    if (!element.textContent.trim()) continue;
    const color = getComputedStyle(element).color, behind = background(element), key = `${color}|${behind}`;
    const text = element.textContent.slice(0, 40);
    if (!pairs.has(key)) pairs.set(key, {color, background: behind, token: element.className, text});
  }
  return [...pairs.values()];
}"""


def parse_css_color(text: str) -> tuple[float, float, float, float]:
    """``"rgb(1, 2, 3)"`` or ``"rgba(1, 2, 3, 0.5)"`` (as getComputedStyle returns them) to (r, g, b, alpha)."""
    match = re.fullmatch(r"rgba?\(([^)]*)\)", text.strip())
    if not match:
        raise ValueError(f"not a computed CSS colour: {text!r}")
    values = [float(v) for v in re.split(r"[,\s/]+", match[1].strip()) if v]
    return (*values[:3], values[3] if len(values) > 3 else 1.0)


def contrast_ratio(foreground: str, background: str) -> float:
    """WCAG 2 contrast ratio of two computed CSS colours (a translucent one is blended over the other, then white)."""

    def blend(top: tuple[float, ...], bottom: tuple[float, ...]) -> tuple[float, float, float]:
        alpha = top[3]
        return tuple(alpha * t + (1 - alpha) * b for t, b in zip(top[:3], bottom[:3], strict=True))

    def luminance(rgb: tuple[float, float, float]) -> float:
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (v / 255 for v in rgb)]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    back = blend(parse_css_color(background), (255, 255, 255, 1))
    fore = blend(parse_css_color(foreground), (*back, 1))
    high, low = sorted((luminance(fore), luminance(back)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def code_contrast_violations(page: Any) -> list[dict[str, Any]]:
    """Highlighted code tokens whose colour has less than WCAG AA contrast with their background, as axe-like dicts."""
    nodes = [
        {"target": [f"{CODE} span.{pair['token'] or '(plain)'}: {pair['text']!r} {pair['color']} on {pair['background']}"]}
        for pair in page.evaluate(CODE_COLORS_SCRIPT, CODE)
        if contrast_ratio(pair["color"], pair["background"]) < MIN_CONTRAST
    ]
    if not nodes:
        return []
    help_text = f"Code tokens must have a contrast ratio of at least {MIN_CONTRAST}:1"
    return [{"id": "code-color-contrast", "impact": "serious", "help": help_text, "nodes": nodes}]


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """Serious and critical violations: axe-core's, plus the contrast of the highlighted code."""
    found = []
    has_code = page.evaluate("(selector) => document.querySelector(selector) !== null", CODE)
    for context, options in AXE_RUNS:
        if "include" in context and not has_code:
            continue  # axe refuses an empty context
        results = page.evaluate("([context, options]) => axe.run(context, options)", [context, options])
        found += [v for v in results["violations"] if v.get("impact") in BLOCKING_IMPACTS]
    return found + code_contrast_violations(page)


class Visitor:
    """Loads each page once in a shared browser context and keeps a :class:`PageReport`."""

    def __init__(self, browser: Any, site: Any) -> None:
        self.site = site
        self.context = browser.new_context(viewport=VIEWPORT)
        self.context.route(lambda url: not _is_local(url), self._block)
        # axe-core (the copy axe-playwright-python ships) in every page before its own scripts:
        # cheaper than injecting the 500 kB script into each page afterwards.
        from axe_playwright_python.base import AXE_SCRIPT

        self.context.add_init_script(AXE_SCRIPT)
        self._current: PageReport | None = None
        self._reports: dict[str, PageReport] = {}

    def _block(self, route: Any) -> None:
        if self._current is not None:
            self._current.failed_requests.append(f"{route.request.url}: request to another site (blocked)")
        route.abort("blockedbyclient")

    def close(self) -> None:
        self.context.close()

    def report(self, page_path: str) -> PageReport:
        if page_path not in self._reports:
            self._reports[page_path] = self._visit(page_path)
        return self._reports[page_path]

    def _visit(self, page_path: str) -> PageReport:
        start = time.perf_counter()
        report = PageReport(url=self.site.url(page_path))
        page = self.context.new_page()
        self._current = report

        def on_console(message: Any) -> None:
            if message.type == "error" and self._current is report:
                location = message.location or {}
                report.console_errors.append(f"{message.text} ({location.get('url', '')}:{location.get('lineNumber', '')})")

        def on_response(response: Any) -> None:
            if response.status >= 400 and self._current is report:
                report.failed_requests.append(f"{response.url}: HTTP {response.status}")

        def on_failed(request: Any) -> None:
            if self._current is report and _is_local(request.url):  # blocked ones are recorded by _block
                report.failed_requests.append(f"{request.url}: {request.failure}")

        page.on("console", on_console)
        page.on("pageerror", lambda error: report.console_errors.append(f"uncaught exception: {error}"))
        page.on("response", on_response)
        page.on("requestfailed", on_failed)
        try:
            page.goto(report.url, wait_until="load", timeout=30_000)
            page.wait_for_load_state("networkidle", timeout=15_000)
            report.console_errors += [f"MathJax could not typeset: {error}" for error in page.evaluate(_MATH_SCRIPT)]
            images = page.evaluate(_IMAGES_SCRIPT)
            report.image_count, report.broken_images = images["count"], images["broken"]
            report.hrefs = page.evaluate("() => Array.from(document.querySelectorAll('a[href]'), (a) => a.href)")
            self._current = None  # axe and screenshots are the test's doing, not the page's
            report.axe_violations = axe_violations(page)
            report.screenshot = ARTIFACTS / "pages" / (page_path.removesuffix(".html").replace("/", "__") + ".jpg")
            report.screenshot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(report.screenshot), full_page=True, type="jpeg", quality=80)
            report.wide_blocks = page.evaluate(WIDE_BLOCKS_SCRIPT)  # last: it opens every <details>
        finally:
            self._current = None
            page.close()
        report.seconds = time.perf_counter() - start
        return report


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


@pytest.mark.parametrize("page", PAGES, ids=_page_id)
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


@pytest.mark.parametrize("page", PAGES, ids=_page_id)
def test_images_load(page: BookPage, visitor: Visitor) -> None:
    report = visitor.report(page.html)
    assert not report.broken_images, (
        f"{page.html}: {len(report.broken_images)} of {report.image_count} images did not load: {report.broken_images}"
    )


@pytest.mark.parametrize("page", PAGES, ids=_page_id)
def test_internal_links_resolve(page: BookPage, visitor: Visitor, site: Any) -> None:
    report = visitor.report(page.html)
    problems = broken_links(report.hrefs, site.root, site.base_url)
    assert not problems, f"{page.html}: broken links:\n" + "\n".join(problems)


@pytest.mark.parametrize("page", PAGES, ids=_page_id)
def test_no_serious_accessibility_violations(page: BookPage, visitor: Visitor) -> None:
    report = visitor.report(page.html)
    assert not report.axe_violations, f"{page.html}: axe-core found:\n" + "\n".join(
        map(_describe_violation, report.axe_violations)
    )


@pytest.mark.parametrize("page", PAGES, ids=_page_id)
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


@pytest.mark.parametrize("page", PAGES, ids=_page_id)
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
    config = _config()
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


@pytest.mark.parametrize("chapter_page", CHAPTERS, ids=_page_id, indirect=True)
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


@pytest.mark.parametrize("chapter_page", CHAPTERS, ids=_page_id, indirect=True)
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
