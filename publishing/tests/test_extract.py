"""Policy pages to text: the selector's element only, blocks as lines, whitespace collapsed."""

import pytest

from publishing.extract import SelectorError, extract_text

HTML = """<html><head><style>p {}</style></head><body>
<nav>Menu</nav>
<div class="rules main"><h2>Rule   one</h2><p>Be <b>kind</b>.<br>Always.</p>
  <div class="inner"><p>Nested</p></div></div>
<article id="other"><p>Elsewhere</p><img src="x"></article>
<footer>Legal</footer></body></html>"""


def test_selectors_pick_the_main_text():
    assert extract_text(HTML, ".rules") == "Rule one\nBe kind.\nAlways.\nNested"
    assert extract_text(HTML, "div.rules") == "Rule one\nBe kind.\nAlways.\nNested"
    assert extract_text(HTML, "#other") == "Elsewhere"
    assert extract_text(HTML, "article") == "Elsewhere"
    assert extract_text(HTML) == "Rule one\nBe kind.\nAlways.\nNested\nElsewhere"
    assert extract_text(HTML, "#missing") == ""


@pytest.mark.parametrize("selector", ["div > p", "a[href]", "#", "p:first-child"])
def test_unsupported_selectors_are_refused(selector):
    with pytest.raises(SelectorError):
        extract_text(HTML, selector)
