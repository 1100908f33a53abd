"""The `DocumentReader` port: readable text from plain text, markdown, HTML (trafilatura) and PDF (pypdf)."""

from __future__ import annotations

import io

from ..domain.errors import InvalidInput


class DocumentTextReader:
    def text_of(self, content: bytes, content_type: str) -> str:
        if content_type in ("text/plain", "text/markdown"):
            return _decoded(content)
        if content_type == "text/html":
            import trafilatura

            html = _decoded(content)
            text = trafilatura.extract(html, include_comments=False, include_tables=True, favor_recall=True)
            if not text:  # a page trafilatura finds no article in: its plain text
                from lxml import html as lxml_html

                try:
                    text = lxml_html.fromstring(html).text_content()
                except Exception:
                    text = ""
            return str(text or "")
        if content_type == "application/pdf":
            from pypdf import PdfReader
            from pypdf.errors import PdfReadError

            try:
                reader = PdfReader(io.BytesIO(content))
                return "\n\n".join((page.extract_text() or "") for page in reader.pages)
            except (PdfReadError, ValueError, KeyError, TypeError) as exc:
                raise InvalidInput(
                    f"content: not a readable PDF ({type(exc).__name__})", {"field": "content"}
                ) from None
        raise InvalidInput(f"content_type: '{content_type}' is not supported", {"field": "content_type"})


def _decoded(content: bytes) -> str:
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("content: text documents must be UTF-8", {"field": "content"}) from None
