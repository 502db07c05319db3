"""What genlab shows on a terminal: plain-text tables and the one-line log format.

Tables are plain text (aligned, log-friendly; `rich` would draw nicer ones but adds a
dependency for little). Messages from genlab's modules go through Python `logging` under the
"genlab" logger: a library user sees warnings only (Python's last-resort handler prints the
bare message), and the CLI shows them as one `genlab: ...` line each.
"""
from __future__ import annotations

import logging
import sys
from typing import Any, Iterable


def setup_logging(verbose: bool = True) -> None:
    """One `genlab: message` line per record on stderr (INFO and up, or WARNING when quiet)."""
    logger = logging.getLogger("genlab")
    if not any(isinstance(handler, _StderrHandler) for handler in logger.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("genlab: %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO if verbose else logging.WARNING)


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (tests and notebooks replace it)."""

    def __init__(self):
        super().__init__(sys.stderr)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):
        pass


def summary_table(rows: Iterable[tuple[str, Any]], title: str | None = None) -> str:
    """A small two-column table for the end of a run (plain text, aligned)."""
    rows = [(str(key), _pretty(value)) for key, value in rows]
    width = max((len(key) for key, _ in rows), default=0)
    value_width = max((len(value) for _, value in rows), default=0)
    if title:  # a title wider than the rows widens the value column, so every line stays aligned
        value_width = max(value_width, len(title) - width - 3)
    line = "+" + "-" * (width + 2) + "+" + "-" * (value_width + 2) + "+"
    out = [line]
    if title:
        out = ["+" + "-" * (width + value_width + 5) + "+", f"| {title:<{width + value_width + 3}} |", line]
    out += [f"| {key:<{width}} | {value:>{value_width}} |" for key, value in rows]
    out.append(line)
    return "\n".join(out)


def _pretty(value) -> str:
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 1000 else f"{value:.1f}"
    return str(value)


def table(headers: list[str], rows: list[list[Any]], title: str | None = None, max_width: int | None = None) -> str:
    """A multi-column plain-text table (numbers right-aligned). With `max_width` (a terminal's
    columns), the widest text columns are folded onto several lines until the table fits."""
    cells = [[_pretty(value) for value in row] for row in rows]
    widths = [max([len(header)] + [len(row[index]) for row in cells]) for index, header in enumerate(headers)]
    if max_width is not None:
        widths = _fitted(widths, headers, rows, max_width)
    if title:
        # A title wider than the columns widens the last column, so every border lines up.
        inner = sum(widths) + 3 * (len(widths) - 1)
        title = title if max_width is None or len(title) <= max(inner, max_width - 4) else title[:max(inner, max_width - 4) - 1] + "…"
        widths[-1] += max(0, len(title) - inner)
    line = "+" + "+".join("-" * (width + 2) for width in widths) + "+"
    out = []
    if title:
        out += ["+" + "-" * (len(line) - 2) + "+", f"| {title:<{len(line) - 4}} |"]
    out += [line, "| " + " | ".join(f"{header:<{width}}" for header, width in zip(headers, widths)) + " |", line]
    for row, raw in zip(cells, rows):
        folded = [_fold(cell, width) for cell, width in zip(row, widths)]
        for depth in range(max(len(parts) for parts in folded)):
            parts = [pieces[depth] if depth < len(pieces) else "" for pieces in folded]
            out.append("| " + " | ".join(f"{cell:>{width}}" if isinstance(value, (int, float)) else f"{cell:<{width}}"
                                         for cell, value, width in zip(parts, raw, widths)) + " |")
    out.append(line)
    return "\n".join(out)


MIN_FOLDED_WIDTH = 16


def _fitted(widths: list[int], headers: list[str], rows: list[list[Any]], max_width: int) -> list[int]:
    """Column widths that fit `max_width` by narrowing the widest text columns (never below
    MIN_FOLDED_WIDTH or their header; numbers and the first column, which names the row, are never folded)."""
    widths = list(widths)
    foldable = [index for index in range(1, len(widths))
                if not all(isinstance(row[index], (int, float)) for row in rows)]
    while sum(widths) + 3 * len(widths) + 1 > max_width:
        candidates = [index for index in foldable if widths[index] > max(MIN_FOLDED_WIDTH, len(headers[index]))]
        if not candidates:
            break
        widest = max(candidates, key=lambda index: widths[index])
        widths[widest] -= 1
    return widths


def _fold(text: str, width: int) -> list[str]:
    """A cell's text on lines of at most `width` characters, broken at spaces where it can be."""
    import textwrap

    if len(text) <= width:
        return [text]
    return textwrap.wrap(text, width, break_long_words=True, break_on_hyphens=False) or [""]
