"""Stored JSON shown to people: nested tables instead of a Python dict or a JSON blob.

A dict is a two-column table (key, value); a list of dicts sharing keys is a table with one row
each; anything else is escaped text. Deep or long values stop with "…" rather than flooding the
page; the exact bytes stay in the API."""

from typing import Any

from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

MAX_DEPTH = 5
MAX_ITEMS = 50
MAX_TEXT = 2000


def _text(value: Any) -> SafeString:
    if value is None:
        # literal markup or format_html's own escaped output:
        return mark_safe('<span class="readable-none">—</span>')  # nosec B308
    if isinstance(value, bool):
        # literal markup or format_html's own escaped output:
        return mark_safe("yes" if value else "no")  # nosec B308 B703
    text = str(value)
    if len(text) > MAX_TEXT:
        text = text[:MAX_TEXT] + "…"
    return escape(text)


def readable(value: Any, depth: int = 0) -> SafeString:
    if depth >= MAX_DEPTH and isinstance(value, dict | list):
        # literal markup or format_html's own escaped output:
        return mark_safe("…")  # nosec B308
    if isinstance(value, dict):
        if not value:
            # literal markup or format_html's own escaped output:
            return mark_safe('<span class="readable-none">(empty)</span>')  # nosec B308
        items = list(value.items())[:MAX_ITEMS]
        rows = format_html_join(
            "",
            '<tr><th scope="row">{}</th><td>{}</td></tr>',
            ((str(k).replace("_", " "), readable(v, depth + 1)) for k, v in items),
        )
        more = "<tr><td colspan=2>…</td></tr>" if len(value) > MAX_ITEMS else ""
        return format_html(
            # literal markup or format_html's own escaped output:
            '<table class="readable"><tbody>{}{}</tbody></table>',
            rows,
            mark_safe(more),  # nosec B308 B703
        )
    if isinstance(value, list | tuple):
        if not value:
            # literal markup or format_html's own escaped output:
            return mark_safe('<span class="readable-none">(none)</span>')  # nosec B308
        shown = list(value)[:MAX_ITEMS]
        hidden = len(value) - len(shown)
        # literal markup or format_html's own escaped output:
        more = mark_safe(f"<p>… and {hidden} more</p>") if hidden else ""  # nosec B308 B703
        if all(isinstance(item, dict) for item in shown):
            keys: list[str] = []
            for item in shown:
                keys += [k for k in item if k not in keys]
            head = format_html_join("", "<th>{}</th>", ((k.replace("_", " "),) for k in keys))
            body = format_html_join(
                "",
                "<tr>{}</tr>",
                (
                    (
                        format_html_join(
                            "", "<td>{}</td>", ((readable(item.get(k), depth + 1),) for k in keys)
                        ),
                    )
                    for item in shown
                ),
            )
            return format_html(
                '<table class="readable"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>{}',
                head,
                body,
                more,
            )
        items = format_html_join("", "<li>{}</li>", ((readable(v, depth + 1),) for v in shown))
        return format_html('<ul class="readable">{}</ul>{}', items, more)
    return _text(value)
