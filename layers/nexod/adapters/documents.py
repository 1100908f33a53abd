"""The `DocumentReader` port: readable text from plain text, markdown, HTML and PDF (pypdf).

HTML: trafilatura's main-content extraction where it is installed (local mode, the `knowledge` extra);
otherwise, and for pages in which it finds no article, the standard library's parser keeps the visible text
and drops scripts, styles, navigation, headers, footers and asides. (trafilatura with its dependencies is
about 60 MB, which does not fit beside LiteLLM in the LLM runner's 250 MB: docs/decisions.md.)
"""

from __future__ import annotations

import io
from html.parser import HTMLParser

from ..domain.errors import InvalidInput

_HIDDEN = frozenset({"script", "style", "noscript", "template", "head", "nav", "footer", "aside", "svg", "iframe"})
_BLOCKS = frozenset(
    {"p", "div", "section", "article", "li", "ul", "ol", "br", "tr", "table", "blockquote", "pre"}
    | {"h1", "h2", "h3", "h4", "h5", "h6", "main", "header", "dd", "dt"}
)


class DocumentTextReader:
    def text_of(self, content: bytes, content_type: str) -> str:
        if content_type in ("text/plain", "text/markdown"):
            return _decoded(content)
        if content_type == "text/html":
            html = _decoded(content)
            try:
                import trafilatura
            except ImportError:
                return visible_text(html)
            text = trafilatura.extract(html, include_comments=False, include_tables=True, favor_recall=True)
            return str(text) if text else visible_text(html)
        if content_type == "application/pdf":
            from pypdf import PdfReader
            from pypdf.errors import PdfReadError

            try:
                reader = PdfReader(io.BytesIO(content))
                return "\n\n".join((page.extract_text() or "") for page in reader.pages)
            except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
                raise InvalidInput(
                    f"content: not a readable PDF ({type(exc).__name__})", {"field": "content"}
                ) from None
        raise InvalidInput(f"content_type: '{content_type}' is not supported", {"field": "content_type"})


class _Visible(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self.hidden += 1
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def visible_text(html: str) -> str:
    """The text a reader sees in a page, one block per line (standard library only)."""
    parser = _Visible()
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)


def _decoded(content: bytes) -> str:
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("content: text documents must be UTF-8", {"field": "content"}) from None
