"""IBKR's texts (questions, what-if warnings) shown as IBKR wrote them: HTML headings rendered, nothing reworded."""

from __future__ import annotations

import html
import re

from ibkr_desk.ui.fmt import escape


def _lines(fragment: str) -> list[str]:
    fragment = re.sub(r"<br\s*/?>|</p>|</div>", "\n", fragment, flags=re.I)
    fragment = html.unescape(re.sub(r"<[^>]+>", "", fragment))
    return [escape(line.strip()) for line in fragment.splitlines() if line.strip()]


def ibkr_markdown(text: str) -> str:
    """IBKR's text as markdown: an ``<h4>`` heading in bold, its words and line breaks as IBKR wrote them."""
    heading = re.search(r"<h4>(.*?)</h4>", text, flags=re.S | re.I)
    if heading is None:
        return "  \n".join(_lines(text))
    title = " ".join(html.unescape(re.sub(r"<[^>]+>", "", heading.group(1))).split())
    lines = [*_lines(text[:heading.start()]), f"**{escape(title)}**", *_lines(text[heading.end():])]
    return "  \n".join(lines)
