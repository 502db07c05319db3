"""README.ko.md is README.md in Korean, kept in step: the same sections in the same order, the same
command lines, the same numbers in the results tables, and each linking to the other at the top."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENGLISH = ROOT / "README.md"
KOREAN = ROOT / "README.ko.md"
HANGUL = re.compile(r"[\uac00-\ud7a3]")


def headings(text: str) -> list[str]:
    """'##' and '###' headings outside code blocks, as their levels ('##', '###'), in order."""
    levels, fenced = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and re.match(r"#{2,3} ", line):
            levels.append(line.split(" ", 1)[0])
    return levels


def command_lines(text: str) -> list[str]:
    """Lines of ```bash blocks, their trailing comments (the translated part) removed."""
    lines, fenced = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = line.strip() == "```bash"
            continue
        if fenced:
            command = re.sub(r"\s+#.*$", "", line).rstrip()
            if command:
                lines.append(command)
    return lines


def table_numbers(text: str) -> list[list[str]]:
    """The numbers of each table row, row by row (headers and prose are translated, numbers not)."""
    return [re.findall(r"-?\d+(?:\.\d+)?", line) for line in text.splitlines()
            if line.startswith("|") and not set(line) <= set("|-: ")]


def test_both_readmes_have_the_same_sections_in_the_same_order():
    english, korean = headings(ENGLISH.read_text(encoding="utf-8")), headings(KOREAN.read_text(encoding="utf-8"))
    assert len(english) >= 10
    assert korean == english


def test_both_readmes_give_the_same_command_lines():
    english = command_lines(ENGLISH.read_text(encoding="utf-8"))
    korean = command_lines(KOREAN.read_text(encoding="utf-8"))
    assert any(line.startswith("genlab run chapter --quick") for line in english)
    assert any(line.startswith("pip install") or " pip install " in line for line in english)
    assert korean == english
    assert set(korean) == set(english)


def test_both_readmes_carry_the_same_numbers_in_their_tables():
    english = table_numbers(ENGLISH.read_text(encoding="utf-8"))
    korean = table_numbers(KOREAN.read_text(encoding="utf-8"))
    assert len(english) >= 30   # the chapter's programs and the sample-quality table
    assert korean == english


def test_each_readme_links_to_the_other_in_its_first_lines():
    english = ENGLISH.read_text(encoding="utf-8").splitlines()[:5]
    korean = KOREAN.read_text(encoding="utf-8").splitlines()[:5]
    assert any("(README.ko.md)" in line for line in english)
    assert any("(README.md)" in line for line in korean)


def test_the_korean_readme_is_written_in_korean():
    paragraphs = [block for block in re.split(r"\n\s*\n", KOREAN.read_text(encoding="utf-8"))
                  if block.strip() and not block.lstrip().startswith(("```", "|", "<!--", "[", "#"))]
    untranslated = [block[:80] for block in paragraphs if not HANGUL.search(block)]
    assert not untranslated, f"paragraphs without Korean: {untranslated}"
