"""The one table printer of the benchmark reports: left-aligned columns, a dashed rule
under the headers, so every report reads alike."""

from __future__ import annotations

from collections.abc import Sequence


def table(headers: Sequence[str], body: Sequence[Sequence[str]], indent: str = "  ") -> str:
    """``headers`` over ``body``'s rows, each column as wide as its widest cell."""
    widths = [max(len(row[i]) for row in (headers, *body)) for i in range(len(headers))]
    lines = [indent + "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines.append(indent + "  ".join("-" * w for w in widths))
    lines.extend(
        indent + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in body
    )
    return "\n".join(lines)
