"""A griffe extension for the API reference: the package's docstrings hold doctests
(``>>>`` lines and their output, ended by a blank line), shown here as code blocks."""

from __future__ import annotations

from typing import Any

from griffe import Extension, Object


def fence(text: str) -> str:
    """``text`` with each doctest in a ```` ```pycon ```` fence at its own indentation."""
    out: list[str] = []
    indent: str | None = None
    for line in text.splitlines():
        if indent is not None and not line.strip():
            out += [f"{indent}```", line]
            indent = None
        elif indent is None and line.lstrip().startswith(">>>"):
            indent = line[: len(line) - len(line.lstrip())]
            out += [f"{indent}```pycon", line]
        else:
            out.append(line)
    if indent is not None:
        out.append(f"{indent}```")
    return "\n".join(out)


class DoctestFences(Extension):
    """Fences the doctests of every docstring griffe reads."""

    def on_instance(self, *, obj: Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = fence(obj.docstring.value)
