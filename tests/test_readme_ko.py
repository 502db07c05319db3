"""README.ko.md is README.md in Korean, and every docs/NAME.ko.md is docs/NAME.md in Korean, kept in
step: the same sections in the same order, the same command lines, the same numbers in the tables,
and each linking to the other at the top. The README stays a one-minute read (at most 250 lines) that
links every docs page; every relative link and image in these pages points at something that exists;
the benchmark tables of docs/results.md are the numbers in docs/bench/*.json."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ENGLISH = ROOT / "README.md"
KOREAN = ROOT / "README.ko.md"
DOCS = ROOT / "docs"
HANGUL = re.compile(r"[\uac00-\ud7a3]")
README_MAX_LINES = 250


def korean_twin(english: Path) -> Path:
    return english.with_name(english.name[: -len(".md")] + ".ko.md")


DOCS_PAGES = sorted(path for path in DOCS.glob("*.md") if not path.name.endswith(".ko.md"))
PAIRS = [(ENGLISH, KOREAN)] + [(page, korean_twin(page)) for page in DOCS_PAGES]
PAIR_IDS = [english.relative_to(ROOT).as_posix() for english, _ in PAIRS]
ALL_PAGES = [page for pair in PAIRS for page in pair]


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def prose_lines(text: str) -> list[str]:
    """The lines outside ``` code blocks."""
    lines, fenced = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced:
            lines.append(line)
    return lines


def heading_lines(text: str) -> list[str]:
    """'#', '##' and '###' headings outside code blocks, in order."""
    return [line for line in prose_lines(text) if re.match(r"#{1,3} ", line)]


def headings(text: str) -> list[str]:
    """The headings' levels ('#', '##', '###'), in order."""
    return [line.split(" ", 1)[0] for line in heading_lines(text)]


def command_lines(text: str) -> list[str]:
    """Lines of ```bash blocks, their trailing comments (the translated part) removed; each page may
    open the notebook in its own language (chapter12.ipynb is Korean, chapter12.en.ipynb English)."""
    lines, fenced = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = line.strip() == "```bash"
            continue
        if fenced:
            command = re.sub(r"\s+#.*$", "", line).rstrip().replace("chapter12.en.ipynb", "chapter12.ipynb")
            if command:
                lines.append(command)
    return lines


def table_rows(text: str) -> list[str]:
    """Table rows (indented ones inside list items too), separator rows left out."""
    return [line.strip() for line in prose_lines(text)
            if line.lstrip().startswith("|") and not set(line.strip()) <= set("|-: ")]


def table_numbers(text: str) -> list[list[str]]:
    """The numbers of each table row, row by row (headers and prose are translated, numbers not)."""
    return [re.findall(r"-?\d+(?:\.\d+)?", row) for row in table_rows(text)]


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = heading.lstrip("#").strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    found: set[str] = set()
    for line in heading_lines(read(path)):
        base = anchor = slug(line)
        count = 0
        while anchor in found:
            count += 1
            anchor = f"{base}-{count}"
        found.add(anchor)
    return found


def relative_links(text: str) -> list[str]:
    """Targets of markdown links and images and of HTML src/href attributes, outside code, that are
    not web addresses."""
    prose = "\n".join(prose_lines(text))
    prose = re.sub(r"`[^`]*`", "", prose)
    targets = re.findall(r"\]\(([^)\s]+)\)", prose) + re.findall(r"""(?:src|href)="([^"]+)\"""", prose)
    return [target for target in targets if not re.match(r"[a-z]+:", target)]


@pytest.mark.parametrize("english, korean", PAIRS, ids=PAIR_IDS)
def test_both_languages_have_the_same_sections_in_the_same_order(english, korean):
    assert korean.exists(), f"{english.relative_to(ROOT)} has no Korean twin {korean.name}"
    assert headings(read(korean)) == headings(read(english))
    assert headings(read(english))[:1] == ["#"], f"{english.name} should open with one '# ' title"


@pytest.mark.parametrize("english, korean", PAIRS, ids=PAIR_IDS)
def test_both_languages_give_the_same_command_lines(english, korean):
    assert command_lines(read(korean)) == command_lines(read(english))


@pytest.mark.parametrize("english, korean", PAIRS, ids=PAIR_IDS)
def test_both_languages_carry_the_same_numbers_in_their_tables(english, korean):
    assert table_numbers(read(korean)) == table_numbers(read(english))


@pytest.mark.parametrize("english, korean", PAIRS, ids=PAIR_IDS)
def test_each_language_links_to_the_other_in_its_first_lines(english, korean):
    english_top = read(english).splitlines()[:5]
    korean_top = read(korean).splitlines()[:5]
    assert any(f"({korean.name})" in line for line in english_top), f"{english.name} does not link {korean.name}"
    assert any(f"({english.name})" in line for line in korean_top), f"{korean.name} does not link {english.name}"


@pytest.mark.parametrize("korean", [korean for _, korean in PAIRS],
                         ids=[korean.relative_to(ROOT).as_posix() for _, korean in PAIRS])
def test_the_korean_pages_are_written_in_korean(korean):
    prose = re.sub(r"^```.*?^```", "", read(korean), flags=re.S | re.M)   # code is code in both languages
    paragraphs = [block for block in re.split(r"\n\s*\n", prose)
                  if block.strip() and not block.lstrip().startswith(("```", "|", "<!--", "[", "#"))]
    untranslated = [block[:80] for block in paragraphs if not HANGUL.search(block)]
    assert not untranslated, f"paragraphs without Korean: {untranslated}"


def test_every_korean_docs_page_has_an_english_one():
    for korean in DOCS.glob("*.ko.md"):
        assert korean.with_name(korean.name.replace(".ko.md", ".md")).exists(), f"{korean.name} has no English page"


def test_the_readme_is_a_short_read_that_links_every_docs_page():
    for readme, suffix in ((ENGLISH, ".md"), (KOREAN, ".ko.md")):
        text = read(readme)
        assert len(text.splitlines()) <= README_MAX_LINES, f"{readme.name}: {len(text.splitlines())} lines"
        for page in DOCS_PAGES:
            name = page.name[: -len(".md")] + suffix
            assert f"(docs/{name}" in text, f"{readme.name} does not link docs/{name}"


def test_the_readme_keeps_its_first_commands_and_its_test_command():
    english = command_lines(read(ENGLISH))
    assert any(line.startswith("genlab run chapter --quick") for line in english)
    assert any(line.startswith("pip install") or " pip install " in line for line in english)
    # CI (.ci/run) runs the README's test command; the family example is read by tests/conftest.py.
    sections = re.split(r"\n(?=## )", read(ENGLISH))
    test = next(section for section in sections if section.startswith("## Test\n"))
    assert any("python -m pytest" in line for line in command_lines(test))
    assert any(section.startswith("## Add a model family\n") and "```python" in section for section in sections)
    assert any(line.startswith("## 모델 계열 추가하기") for line in heading_lines(read(KOREAN)))


def test_the_results_page_holds_the_results_tables():
    english = table_numbers(read(DOCS / "results.md"))
    assert len(english) >= 30   # the chapter's programs and the sample-quality table


@pytest.mark.parametrize("page", ALL_PAGES, ids=[page.relative_to(ROOT).as_posix() for page in ALL_PAGES])
def test_relative_links_and_images_point_at_what_exists(page):
    for target in relative_links(read(page)):
        path_part, _, anchor = target.partition("#")
        destination = (page.parent / path_part).resolve() if path_part else page
        assert destination.exists(), f"{page.name}: link to {target} points at nothing"
        if anchor and destination.suffix == ".md":
            assert anchor in anchors(destination), f"{page.name}: {destination.name} has no heading #{anchor}"


def test_the_benchmark_tables_are_the_numbers_in_docs_bench():
    quality = json.loads(read(DOCS / "bench" / "bench-quality.json"))
    recipes = quality["recipes"]
    expected = [[f"{recipe['train_seconds']:.0f}", f"{recipe['final_fid']:.2f}", f"{recipe['time_to_target_s']:.0f}",
                 str(recipe["steps_to_target"]), f"{recipe['time_fraction']:.2f}"]
                for recipe in (recipes[name] for name in ("reference", "chapter", "default", "chapter-bf16", "default-bf16"))]
    rows = table_rows(read(DOCS / "results.md"))
    header = next(index for index, row in enumerate(rows) if "share of the textbook loop's" in row)
    measured = [re.findall(r"-?\d+(?:\.\d+)?", row.split("|", 2)[2]) for row in rows[header + 1: header + 6]]
    assert measured == expected
    assert f"**{quality['target_fid']:.2f}**" in read(DOCS / "results.md")

    chapter = json.loads(read(DOCS / "bench" / "bench-chapter.json"))
    text = " ".join(read(DOCS / "results.md").split())
    assert f"took **{chapter['reference_seconds']:.0f} s** from start to exit" in text
    assert f"took **{chapter['genlab_seconds']:.0f} s**: **{chapter['speedup']:.2f}x**" in text
    assert f"({chapter['time_fraction']:.2f} of the reference's time)" in text


# Mistranslations once found in the Korean pages and notebook, kept out: each with what it should say.
MISTRANSLATIONS = {
    "책 전체": "the chapter is 이 장",
    "한참 뒤집니다": "lags behind is 뒤처집니다",
    "무조건 모델": "an unconditional model is 비조건부 모델",
    "연구실(lab)": "genlab is not a 연구실",
    "정직한 지표": "a calque of 'honest metrics'",
    "판별 모델": "the lecture says 분류 모델",
    "합성곱": "the lecture says 컨볼루션",
    "잡음": "the lecture says 노이즈",
    "노트북 CPU": "reads as a Jupyter notebook; say 노트북 컴퓨터",
}


def test_the_korean_text_has_none_of_the_known_mistranslations():
    pages = [KOREAN, *DOCS.glob("*.ko.md"), ROOT / "notebooks" / "chapter12.ipynb"]
    found = [f"{page.name}: '{wrong}' ({why})" for page in pages for wrong, why in MISTRANSLATIONS.items()
             if wrong in page.read_text(encoding="utf-8")]
    assert not found, "; ".join(found)


def test_each_language_opens_its_own_notebook():
    assert "jupyter lab notebooks/chapter12.ipynb" in read(DOCS / "notebooks.ko.md")
    assert "jupyter lab notebooks/chapter12.en.ipynb" in read(DOCS / "notebooks.md")
