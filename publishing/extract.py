"""Policy pages to text: the main text (optionally under a simple CSS selector), one line per
block, whitespace collapsed, so that a diff shows what changed in the words and not the markup.
Pure Python (html.parser); selectors: ``tag``, ``#id``, ``.class``, ``tag.class``, ``tag#id``."""

import re
from html.parser import HTMLParser

SKIP = {"script", "style", "noscript", "template", "head", "svg", "nav", "footer"}
VOID = {
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
    "track", "wbr",
}  # fmt: skip
BLOCK = {
    "p", "div", "section", "article", "main", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5",
    "h6", "tr", "table", "br", "hr", "blockquote", "pre", "dd", "dt", "header", "aside",
}  # fmt: skip
SELECTOR = re.compile(r"^(?P<tag>[a-zA-Z][a-zA-Z0-9-]*)?(?:#(?P<id>[\w-]+)|\.(?P<cls>[\w-]+))?$")


class SelectorError(ValueError):
    pass


def parse_selector(selector: str) -> tuple[str | None, str | None, str | None]:
    match = SELECTOR.match(selector.strip())
    if not selector.strip() or not match or not any(match.groups()):
        raise SelectorError(f"unsupported selector {selector!r} (use tag, #id, .class, tag.class)")
    tag = match["tag"].lower() if match["tag"] else None
    return tag, match["id"], match["cls"]


class _Text(HTMLParser):
    def __init__(self, selector: tuple | None):
        super().__init__(convert_charrefs=True)
        self.selector = selector
        self.stack: list[str] = []
        self.inside_at: int | None = None if selector else 0  # depth where the match began
        self.skip_at: int | None = None
        self.parts: list[str] = []
        self.found = selector is None

    def _matches(self, tag: str, attrs: dict) -> bool:
        want_tag, want_id, want_cls = self.selector
        return (
            (want_tag is None or tag == want_tag)
            and (want_id is None or attrs.get("id") == want_id)
            and (want_cls is None or want_cls in (attrs.get("class") or "").split())
        )

    def handle_starttag(self, tag, attrs):
        if tag in VOID:
            if tag in BLOCK and self._collecting():
                self.parts.append("\n")
            return
        attrs = dict(attrs)
        self.stack.append(tag)
        depth = len(self.stack)
        if self.skip_at is None and tag in SKIP:
            self.skip_at = depth
        if self.inside_at is None and self._matches(tag, attrs):
            self.inside_at, self.found = depth, True
        if tag in BLOCK and self._collecting():
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in VOID or tag not in self.stack:
            return
        while self.stack:  # close anything left open inside it
            depth = len(self.stack)
            closed = self.stack.pop()
            if closed in BLOCK and self._collecting():
                self.parts.append("\n")
            if self.skip_at == depth:
                self.skip_at = None
            if self.selector and self.inside_at == depth:
                self.inside_at = -1  # the first match only
            if closed == tag:
                break

    def _collecting(self) -> bool:
        return self.skip_at is None and self.inside_at is not None and self.inside_at >= 0

    def handle_data(self, data):
        if self._collecting():
            self.parts.append(data)


def extract_text(html: str, selector: str = "") -> str:
    """The normalised text; empty when the selector matches nothing."""
    parser = _Text(parse_selector(selector) if selector else None)
    parser.feed(html)
    parser.close()
    if not parser.found:
        return ""
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)
