"""The one source of notebooks/chapter12.ipynb (Korean) and chapter12.en.ipynb (English).

Edit the files in notebooks/sections/, then run `python notebooks/build.py`; tests/test_notebooks.py
fails when a committed notebook differs from what this source builds, so the two languages cannot
drift apart.

Each notebooks/sections/*.py file defines `cells(md, code)`, which returns its cells in order; CELLS
joins the files in name order. The two kinds of cell:
- md(korean, english): a Markdown cell, written separately in each language;
- code(text): one code cell for both languages. Inside it, `# @ko 한국어 @en English` is a comment
  (the builder keeps the half of the notebook's language, after `# `), and `«한국어|English»` is
  any other text in the code (printed labels): the builder keeps the matching half.
Figures are labelled in English in both notebooks: matplotlib's default fonts have no Hangul.
Exercises are headed "직접 해 보기" / "Try it" and numbered **1-1**, **1-2**...; notebooks/answers.md
and answers.ko.md answer each number (tests/test_notebooks.py checks that they match).
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from textwrap import dedent

SECTIONS = Path(__file__).resolve().parent / "sections"


@dataclass(frozen=True)
class Cell:
    kind: str            # "markdown" or "code"
    ko: str
    en: str


def md(ko: str, en: str) -> Cell:
    return Cell("markdown", dedent(ko).strip(), dedent(en).strip())


def code(text: str) -> Cell:
    text = dedent(text).strip()
    return Cell("code", text, text)


def _section_cells(path: Path) -> list[Cell]:
    spec = importlib.util.spec_from_file_location(f"genlab_notebook_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return list(module.cells(md, code))


CELLS = [cell for path in sorted(SECTIONS.glob("s*.py")) for cell in _section_cells(path)]
