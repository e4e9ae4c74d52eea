"""The user guide: docs/*.md rendered under /help (reference: issue 8 "User guide")."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import markdown
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.safestring import mark_safe

from dropstream.web.views.common import page

# The repository's docs/ folder (next to the package) — the same files people read on GitHub.
DOCS_DIR = Path(__file__).resolve().parents[3] / "docs"
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")


def _title(text: str, fallback: str) -> str:
    for line in text.splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return fallback


def guide_pages() -> list[dict[str, str]]:
    """Every page of the guide: ``index`` first, then the pages it links to, in that order."""
    if not DOCS_DIR.is_dir():
        return []
    pages = []
    index = DOCS_DIR / "index.md"
    linked = re.findall(r"\]\(([a-z0-9-]+)\.md\)", index.read_text(encoding="utf-8")) \
        if index.is_file() else []
    rank = {slug: n for n, slug in enumerate(["index", *linked])}
    for path in sorted(DOCS_DIR.glob("*.md"), key=lambda p: (rank.get(p.stem, 99), p.stem)):
        slug = path.stem
        if not _SLUG.match(slug):
            continue
        pages.append({"slug": slug, "title": _title(path.read_text(encoding="utf-8"), slug)})
    return pages


@lru_cache(maxsize=64)
def _render_markdown(path: Path, mtime: float) -> str:
    text = path.read_text(encoding="utf-8")
    # Links between guide pages are written as `other-page.md` so they work on GitHub too.
    text = re.sub(r"\]\(([a-z0-9-]+)\.md(#[^)]*)?\)", r"](/help/\1/\2)", text)
    text = re.sub(r"\]\(images/([a-z0-9-]+\.png)\)", r"](/help/images/\1)", text)
    return markdown.markdown(text, extensions=["tables", "fenced_code", "toc", "sane_lists"],
                             output_format="html")


@page
def help_page(request: HttpRequest, slug: str = "") -> HttpResponse:
    pages = guide_pages()
    if not slug:
        slug = pages[0]["slug"] if pages else ""
    if not _SLUG.match(slug or "-"):
        raise Http404("No such help page")
    path = DOCS_DIR / f"{slug}.md"
    if not path.is_file():
        raise Http404("No such help page")
    html = _render_markdown(path, path.stat().st_mtime)
    # The guide is our own Markdown from the repository, not user input.
    return render(request, "web/help.html", {"pages": pages, "slug": slug,
                                             "html": mark_safe(html)})  # noqa: S308


_IMAGE = re.compile(r"^[a-z0-9][a-z0-9-]*\.png$")


def help_image(request: HttpRequest, name: str) -> HttpResponse:
    """A screenshot of the guide (docs/images/*.png); names are checked, never paths."""
    path = DOCS_DIR / "images" / name
    if not _IMAGE.match(name) or not path.is_file():
        raise Http404("No such image")
    response = HttpResponse(path.read_bytes(), content_type="image/png")
    response["Cache-Control"] = "max-age=3600"
    return response
