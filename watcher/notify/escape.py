"""Escaping untrusted text for each message format, and cutting it to a sane length.

Job names, descriptions, failure reasons and commit messages come from whoever submitted the job. They
must arrive as literal text: ``<img src=x onerror=alert(1)>`` shown, not run; ``*bold* @channel`` shown,
not bold and not a mention. Each format has one function here; the renderer applies it to every value a
template prints (templates mark their own markup as safe).
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable
from urllib.parse import quote, urlsplit

from markupsafe import Markup

ZWSP = "\u200b"  # zero-width space: invisible, but breaks a mention or a Slack formatting marker
ELLIPSIS = "\u2026"

# CommonMark: any ASCII punctuation may be backslash-escaped. These can open or close markup anywhere in
# a line (emphasis, code, links, images, tables, HTML, entities, strike)...
_MARKDOWN_INLINE = re.compile(r"([\\`*_\[\]<>|~])")
# ...and these only at the start of a line (headings, lists, setext underlines, ordered lists)
_MARKDOWN_LINE_START = re.compile(r"^([ \t]*)([#+=-]|\d{1,9}(?=[.)]))", re.MULTILINE)
# Slack mrkdwn has no escape character; a zero-width space on both sides keeps a marker from opening or
# closing bold/italic/strike/code, because Slack wants whitespace or punctuation next to the marker. A
# marker between two letters or digits (WAITING_FOR_PRIORITY) can do neither and is left alone.
_SLACK_MARKER = re.compile(r"`|[*_~](?![A-Za-z0-9])|(?<![A-Za-z0-9])[*_~]")
_MENTION = re.compile(r"@(?=\w)")
# C0/C1 controls (except tab and newline), bidi overrides and other format characters: they can rewrite a
# terminal line or reorder text; line and paragraph separators become newlines
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs"})
_KEEP = frozenset({"\n", "\t"})


def clean(text: str) -> str:
    """Drop control and format characters (keeping tab and newline); CR LF and separators become LF."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n")
    if text.isascii() and text.isprintable():
        return text
    return "".join(ch for ch in text if ch in _KEEP or unicodedata.category(ch) not in _UNSAFE_CATEGORIES)


def cut(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, an ellipsis marking the cut."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - 1)].rstrip() + ELLIPSIS


def escape_text(text: str) -> str:
    """Plain text needs no escaping (control characters were removed earlier)."""
    return text


def escape_html(text: str) -> str:
    """HTML: ``& < > " '`` become entities."""
    return html.escape(text, quote=True)


def escape_markdown(text: str) -> str:
    """CommonMark: backslash before markup characters; mentions (``@channel``, ``@here``, ``@user``) broken."""
    # "&" as an entity, not "\\&": Python-Markdown (apprise's converter) turns "\\&amp;" back into an entity
    text = _MARKDOWN_INLINE.sub(r"\\\1", text.replace("&", "&amp;"))
    text = _MARKDOWN_LINE_START.sub(_escape_line_start, text)
    return _MENTION.sub("@" + ZWSP, text)


def _escape_line_start(match: re.Match[str]) -> str:
    indent, mark = match.group(1), match.group(2)
    if mark[0].isdigit():  # "1. item" -> "1\. item": the digits stay, the list marker after them is escaped
        return f"{indent}{mark}\\"
    return f"{indent}\\{mark}"


def escape_slack(text: str) -> str:
    """Slack mrkdwn: ``& < >`` as entities (so ``<!channel>`` and links stay text), markers and mentions broken."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _SLACK_MARKER.sub(lambda m: ZWSP + m.group(0) + ZWSP, text)
    return _MENTION.sub("@" + ZWSP, text)


ESCAPERS: dict[str, Callable[[str], str]] = {
    "text": escape_text,
    "html": escape_html,
    "markdown": escape_markdown,
    "slack": escape_slack,
}


def safe_url(value: object) -> str | None:
    """An http(s) URL with every character that could end a link in any format percent-encoded; else None.

    URLs come from service answers (Amplify's log links) as well as from jobwatch itself, so they are
    checked like any other untrusted value: a ``javascript:`` URL is dropped.
    """
    if not isinstance(value, str) or len(value) > 4000:
        return None
    text = value.strip()
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    # keep the characters URLs need; encode spaces, quotes, <>, |, (), backslash, backtick, * _ ~ and controls
    return quote(clean(text), safe="/:?#=&%+,;@!$-.'[]")


def link(url: str | None, text: str, fmt: str) -> Markup:
    """A link to ``url`` labelled ``text`` (untrusted, escaped here) in format ``fmt``; the text alone without a URL."""
    label = ESCAPERS[fmt](text)
    target = safe_url(url)
    if target is None:
        return Markup(label)
    if fmt == "html":
        return Markup(f'<a href="{html.escape(target, quote=True)}">{label}</a>')
    if fmt == "markdown":
        return Markup(f"[{label}](<{target}>)")
    if fmt == "slack":
        return Markup(f"<{target}|{label.replace('|', '¦')}>")
    return Markup(f"{label}: {target}")


def cut_rendered(body: str, limit: int, fmt: str) -> str:
    """Cut a rendered message to ``limit`` characters without leaving half an escape, entity or tag."""
    if len(body) <= limit:
        return body
    head = body[: max(0, limit - 1)]
    if fmt in ("html", "slack", "markdown"):
        amp = head.rfind("&")
        if amp != -1 and ";" not in head[amp:]:
            head = head[:amp]
    if fmt == "html":
        lt = head.rfind("<")
        if lt != -1 and ">" not in head[lt:]:
            head = head[:lt]
    if fmt == "markdown":
        trailing = len(head) - len(head.rstrip("\\"))
        if trailing % 2:
            head = head[:-1]
    return head.rstrip() + ELLIPSIS
