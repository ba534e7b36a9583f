"""Text as a shopper would read it: entities decoded, markup removed, invisible characters gone.

Catalog text arrives from web dumps: `&amp;amp;` escaped twice, `<br />` and `<i>` tags in
descriptions, whole titles that are a scraped fragment (`<span class="a-size-medium"`),
zero-width spaces, full-width letters. Every stage after ingest (types, prompts, resolution,
the gate's injection check) reads the cleaned text; keys (product and user ids) are never
passed through here.

Markup is removed with the standard library's `html.parser` (a maintained, forgiving HTML
tokenizer) rather than a regular expression, so comments, `<script>`/`<style>` bodies and
attributes holding `>` are handled; it runs only on text that contains a tag, so "I <3 NY"
or "size <5 oz" are never touched.
"""

from __future__ import annotations

import html
import re
import unicodedata
from html.parser import HTMLParser

# Zero-width and invisible formatting characters that survive NFKC.
_INVISIBLE = {ord(c): None for c in "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e"}
_LINE_BREAKS = "\n\r\t\v\f\u2028\u2029\x85"
_ASCII_BREAKS = {ord(c): " " for c in "\n\r\t\v\f"}
_ASCII_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SPACES = re.compile(r"[ \u00a0\u2000-\u200a\u202f\u205f\u3000]+")

# HTML's own element names: "<Deluxe Edition>" in a title is text, "<span ...>" is markup.
_ELEMENTS = (
    "a|abbr|b|bdi|bdo|big|blockquote|body|br|button|center|cite|code|col|colgroup|dd|del|details|"
    "dfn|div|dl|dt|em|embed|figcaption|figure|font|footer|form|h[1-6]|head|header|hr|html|i|iframe|"
    "img|input|ins|kbd|label|li|link|main|mark|meta|nav|noscript|object|ol|option|p|picture|pre|q|"
    "s|samp|script|section|select|small|source|span|strike|strong|style|sub|summary|sup|svg|table|"
    "tbody|td|template|textarea|tfoot|th|thead|title|tr|tt|u|ul|var|video|wbr"
)
# A tag (`<b>`, `</div>`, `<img src=...>`), a comment, or a doctype.
_TAG = re.compile(rf"</?(?:{_ELEMENTS})(?:\s[^<>]*)?/?>|<!--|<!doctype", re.IGNORECASE)
# A tag cut off by the scraper: `<span class="a-size-medium a-color-secondary"` with no `>`.
_DANGLING_TAG = re.compile(
    rf"</?(?:{_ELEMENTS})(?:\s+[A-Za-z_:][\w:.-]*(?:\s*=\s*(?:\"[^\"]*\"?|'[^']*'?|[^\s>]*))?)*\s*$",
    re.IGNORECASE)
# CSS or script scraped into a text field: `.a-box-inner{background-color:#fff}`.
_CODE = re.compile(r"[\w#.\])-]\s*\{[^{}]*:[^{}]*\}|\bfunction\s*\(|\bvar\s+\w+\s*=")


class _TextOnly(HTMLParser):
    """Collects the text content of an HTML fragment; block tags become spaces."""

    _SKIP = {"script", "style", "noscript", "template"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in self._SKIP:
            self._skipping += 1
        self.parts.append(" ")

    def handle_endtag(self, tag):
        if tag in self._SKIP and self._skipping:
            self._skipping -= 1
        self.parts.append(" ")

    def handle_data(self, data):
        if not self._skipping:
            self.parts.append(data)


def has_markup(text: str) -> bool:
    return "<" in text and bool(_TAG.search(text) or _DANGLING_TAG.search(text))


def strip_markup(text: str) -> str:
    """The text content of an HTML fragment; text without tags is returned unchanged."""
    if not has_markup(text):
        return text
    parser = _TextOnly()
    parser.feed(text)
    parser.close()
    out = "".join(parser.parts)
    # html.parser hands back an unterminated trailing tag as text; it is still markup.
    return _DANGLING_TAG.sub(" ", out)


def looks_like_code(text: str) -> bool:
    """CSS rules or script: text a scraper took from the page, not from the product."""
    if "{" not in text and "function" not in text and "var " not in text:
        return False
    return bool(_CODE.search(text))


def unescape(text: str) -> str:
    """Decode HTML entities, also doubly escaped ones (`&amp;amp;` occurs in real dumps)."""
    if "&" not in text:
        return text
    for _ in range(3):
        decoded = html.unescape(text)
        if decoded == text:
            break
        text = decoded
    return text


def visible_text(text: str) -> str:
    """NFKC (full-width and compatibility forms folded), every zero-width, format and
    control character removed (line breaks become spaces), single spaces, trimmed."""
    if text.isascii():  # most catalog text: NFKC is the identity, only C0 controls to drop
        return " ".join(_ASCII_CONTROL.sub("", text.translate(_ASCII_BREAKS)).split())
    text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE)
    text = "".join(" " if c in _LINE_BREAKS else c for c in text
                   if unicodedata.category(c) not in ("Cf", "Cc", "Cs", "Co") or c in _LINE_BREAKS)
    return _SPACES.sub(" ", text).strip()


def display_text(value: object) -> str:
    """Catalog text for every stage after ingest: entities decoded, markup removed, visible."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    return visible_text(strip_markup(unescape(text)))
