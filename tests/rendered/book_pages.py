"""The book's pages as the browser tests see them: which pages, what a visit records, colour contrast.

``book_pages`` lists the pages a build produces (from ``_toc.yml``);
:class:`Visitor` opens a page once in Chromium, with requests to other sites
aborted, and keeps a :class:`PageReport` (console errors, failed requests,
images, links, axe-core violations, blocks wider than the column, a
screenshot); ``contrast_ratio`` is WCAG 2's. ``test_browser.py`` and
``test_interactive_figures.py`` assert on them.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

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


def page_id(page: BookPage) -> str:
    return page.docname


def book_config() -> dict[str, Any]:
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


def is_local(url: str) -> bool:
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
        self.context.route(lambda url: not is_local(url), self._block)
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
            if self._current is report and is_local(request.url):  # blocked ones are recorded by _block
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
