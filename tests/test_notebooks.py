"""notebooks/chapter12.ipynb (Korean) and chapter12.en.ipynb (English): built from one source,
committed without outputs, and executed end to end (CI budget, embedded data, no network)."""
from __future__ import annotations

import importlib.util
import os
import re
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
HANGUL = re.compile(r"[\uac00-\ud7a3]")

nbformat = pytest.importorskip("nbformat", reason="nbformat is not installed (pip install -e '.[notebook]')")


def _build_module():
    spec = importlib.util.spec_from_file_location("genlab_notebook_build", NOTEBOOKS / "build.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


build = _build_module()


@pytest.mark.parametrize("language", ["ko", "en"])
def test_committed_notebook_is_exactly_what_the_source_builds(language):
    committed = (NOTEBOOKS / build.LANGUAGES[language]).read_text(encoding="utf-8")
    assert committed == build.text(language), (
        f"{build.LANGUAGES[language]} differs from notebooks/source.py: run python notebooks/build.py")


@pytest.mark.parametrize("language", ["ko", "en"])
def test_committed_notebook_has_no_outputs(language):
    notebook = nbformat.read(NOTEBOOKS / build.LANGUAGES[language], as_version=4)
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code_cells
    for cell in code_cells:
        assert cell.outputs == [], f"cell {cell.id} keeps outputs"
        assert cell.execution_count is None, f"cell {cell.id} keeps an execution count"
    assert notebook.metadata.kernelspec.name == "python3"


def test_the_two_notebooks_have_the_same_cells_and_the_same_code():
    korean = nbformat.read(NOTEBOOKS / build.LANGUAGES["ko"], as_version=4).cells
    english = nbformat.read(NOTEBOOKS / build.LANGUAGES["en"], as_version=4).cells
    assert [cell.cell_type for cell in korean] == [cell.cell_type for cell in english]

    def without_text(source):   # comments and string literals are the translated parts
        source = re.sub(r"#.*", "", source)
        return re.sub(r"(\"\"\"[\s\S]*?\"\"\"|\"[^\"\n]*\")", '""', source)

    for ko, en in zip(korean, english):
        if ko.cell_type == "code":
            assert without_text(ko.source) == without_text(en.source), ko.id


def test_each_notebook_speaks_its_language():
    korean = nbformat.read(NOTEBOOKS / build.LANGUAGES["ko"], as_version=4).cells
    english = nbformat.read(NOTEBOOKS / build.LANGUAGES["en"], as_version=4).cells
    for cell in korean:
        if cell.cell_type == "markdown":
            assert HANGUL.search(cell.source), f"Korean notebook, markdown cell {cell.id} has no Korean"
        for comment in re.findall(r"#\s+(.*)", cell.source) if cell.cell_type == "code" else []:
            if re.search(r"[A-Za-z]{4,} [a-z]{3,} [a-z]{3,}", comment):   # an English sentence, not a name
                assert HANGUL.search(comment), f"English comment in the Korean notebook: {comment!r}"
    for cell in english:
        assert not HANGUL.search(cell.source), f"Korean text in the English notebook, cell {cell.id}"


def test_localize_keeps_one_language_and_refuses_a_broken_marker():
    source = 'x = 1   # @ko 하나 @en one\nprint("«안녕|hello»")'
    assert build.localize(source, "ko") == 'x = 1   # 하나\nprint("안녕")'
    assert build.localize(source, "en") == 'x = 1   # one\nprint("hello")'
    with pytest.raises(ValueError, match="marker"):
        build.localize('print("«안녕 hello»")', "en")


@pytest.mark.slow
# The Korean notebook (the chapter's own language) is executed; its English twin has the very same
# code cells (test_the_two_notebooks_have_the_same_cells_and_the_same_code), so executing it too
# would only repeat the same 100 seconds of training in CI.
@pytest.mark.parametrize("language", ["ko"])
def test_notebook_executes_without_error(language, tmp_path, monkeypatch):
    """The notebook, top to bottom, in a fresh kernel: no network, no data folder, CI budget."""
    pytest.importorskip("nbclient", reason="nbclient is not installed (pip install -e '.[notebook]')")
    pytest.importorskip("ipykernel", reason="ipykernel is not installed (pip install -e '.[notebook]')")
    monkeypatch.delenv("GENLAB_DATA_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("GENLAB_NOTEBOOK_BUDGET", "ci")
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "3")
    # The kernel imports the genlab being tested, wherever pytest runs from.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")])))
    (tmp_path / "home").mkdir()
    started = time.perf_counter()
    executed = build.execute(NOTEBOOKS / build.LANGUAGES[language], tmp_path, timeout=600)   # raises on any error
    seconds = time.perf_counter() - started
    outputs = [output for cell in executed.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [output for output in outputs if output.output_type == "error"]
    images = [output for output in outputs if "image/png" in output.get("data", {})]
    # mean model, curves, hidden units, reconstructions, denoising x 2, untrained, 2 strips (CI: 2 saved),
    # mean vs GAN, losses, VAE x 2, cGAN classes
    assert len(images) >= 14, f"only {len(images)} figures were shown"
    text = "".join(output.get("text", "") for output in outputs)
    assert "D checksum" in text or "D 체크섬" in text
    # The Keras 3 demonstration really shows the frozen discriminator unchanged, then the explicit update changing it.
    assert re.search(r"(unchanged|같은가): True", text) and re.search(r"(changed|바뀌었는가): True", text)
    assert (tmp_path / "notebook-runs").is_dir()
    print(f"{build.LANGUAGES[language]} executed in {seconds:.0f} s")


# ---------------------------------------------------------------------------- exercises and their answers
EXERCISE = re.compile(r"\*\*(\d+-\d+)\*\*")
ANSWER_HEADING = re.compile(r"^### (\d+-\d+)$", re.M)


def _markdown(language):
    return "\n".join(cell.source for cell in nbformat.read(NOTEBOOKS / build.LANGUAGES[language], as_version=4).cells
                     if cell.cell_type == "markdown")


def _code_blocks(text):
    """The ```python blocks of a page, their comments left out (the translated part)."""
    return [re.sub(r"\s*#.*", "", block).strip() for block in re.findall(r"```python\n(.*?)```", text, re.S)]


def test_every_exercise_has_an_answer_in_both_languages():
    exercises = EXERCISE.findall(_markdown("en"))
    assert exercises and exercises == EXERCISE.findall(_markdown("ko"))
    assert len(set(exercises)) == len(exercises), "an exercise number is used twice"
    english = (NOTEBOOKS / "answers.md").read_text(encoding="utf-8")
    korean = (NOTEBOOKS / "answers.ko.md").read_text(encoding="utf-8")
    assert ANSWER_HEADING.findall(english) == exercises
    assert ANSWER_HEADING.findall(korean) == exercises
    assert _code_blocks(english) == _code_blocks(korean)
    for text in (english, korean):
        assert not re.search(r"\b[A-Z0-9_]+_ANSWER\b", text), "an answer is still a placeholder"


def test_each_section_ends_with_exercises_and_the_advanced_part_is_marked():
    for language, heading, advanced in (("en", "### Try it", "Advanced (optional)"), ("ko", "### 직접 해 보기", "심화(선택)")):
        sections = re.split(r"\n(?=## \d)", "\n".join(
            cell.source for cell in nbformat.read(NOTEBOOKS / build.LANGUAGES[language], as_version=4).cells))
        numbered = [section for section in sections if re.match(r"## [1-4]\.", section)]
        assert len(numbered) == 4
        for section in numbered:
            assert heading in section, f"{language}: {section.splitlines()[0]} has no exercises"
        assert advanced in numbered[-1].splitlines()[0]
        assert "will be added" not in "\n".join(sections) and "추가합니다" not in "\n".join(sections)


@pytest.mark.parametrize("language", ["ko", "en"])
def test_each_program_is_written_out_with_the_functional_api_and_summarized(language):
    notebook = nbformat.read(NOTEBOOKS / build.LANGUAGES[language], as_version=4)
    code = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
    for model in ("classifier_net", "autoencoder_net", "discriminator", "generator"):
        assert re.search(rf"{model} = keras\.Model\(", code), f"{model} is not written out"
        assert f"{model}.summary()" in code
    assert code.count("keras.Input(") >= 4 and "layers.Dense(64, activation=\"relu\", name=\"hidden_1\")(inputs)" in code
    assert "Adam(lr=0.0004)" in code and "genlab.backend" not in code and "minimize" not in code
    text = _markdown(language)
    assert "\\min_G \\max_D V(D, G)" in text
    assert text.count("Keras 3") >= 4


# ---------------------------------------------------------------------------- the HTML previews
@pytest.mark.parametrize("language", ["ko", "en"])
def test_each_preview_was_made_from_the_committed_notebook(language):
    """docs/notebooks/*.html are executed copies of the committed notebooks, made by
    `python notebooks/build.py --preview` (not re-executed here: the recorded hash is compared)."""
    page_path = build.PREVIEWS / build.preview_name(language)
    assert page_path.is_file(), f"no preview {page_path.name}: run python notebooks/build.py --preview"
    page = page_path.read_text(encoding="utf-8")
    notebook = NOTEBOOKS / build.LANGUAGES[language]
    assert build.recorded(page, build.HASH_META) == build.notebook_sha256(notebook), (
        f"{page_path.name} was made from another version of {notebook.name}: run python notebooks/build.py --preview")
    assert build.recorded(page, build.BUDGET_META) == "quick", "a preview shows the notebook at its own budget (QUICK = True)"
    assert page_path.stat().st_size < 3_000_000
    assert "Traceback" not in page and "jp-OutputArea-output\" data-mime-type=\"application/vnd.jupyter.error" not in page
    assert page.count("image/png") >= 14
    for leaked in ("/tmp/", "/home/", "/work/", "site-packages"):
        assert leaked not in page, f"{page_path.name} shows a path of the machine that made it: {leaked}"


# ---------------------------------------------------------------------------- genlab.notebook
def test_the_notebook_budgets():
    from genlab import chapter, notebook

    quick = notebook.budgets(True, 4000, False)
    assert {name: quick[name] for name in chapter.PROGRAMS} == chapter.quick_budgets(4000, False)
    assert quick["vae"] == {"epochs": 15} and quick["cgan"] == quick["gan"]
    assert notebook.budgets(False, 60000, True) == {name: {} for name in notebook.FAMILIES}
    ci = notebook.budgets(True, 60000, True, ci=True)
    assert ci == notebook.CI_BUDGETS and ci is not notebook.CI_BUDGETS
    assert [notebook.samples_to_score(True), notebook.samples_to_score(False), notebook.samples_to_score(True, ci=True)] == [1000, 10000, 200]


def test_same_network_compares_weight_shapes():
    from genlab import backend, notebook

    backend.configure(None)
    import keras

    def dense(units):
        inputs = keras.Input(shape=(784,))
        return keras.Model(inputs, keras.layers.Dense(10)(keras.layers.Dense(units)(inputs)))

    assert notebook.same_network(dense(64), dense(64))
    assert not notebook.same_network(dense(64), dense(32))


def test_no_user_page_speaks_of_how_genlab_was_made():
    pages = [ROOT / "README.md", ROOT / "README.ko.md", *sorted((ROOT / "docs").glob("*.md")),
             NOTEBOOKS / "answers.md", NOTEBOOKS / "answers.ko.md", *sorted((NOTEBOOKS / "sections").glob("*.py"))]
    words = re.compile(r"\b(sessions?|engineers?|lent|issues?)\b|세션|엔지니어|이슈", re.I)
    found = [f"{page.relative_to(ROOT)}: {match.group(0)!r}" for page in pages
             for match in words.finditer(page.read_text(encoding="utf-8"))]
    assert not found, "; ".join(found)
    for page in [NOTEBOOKS / "answers.md", NOTEBOOKS / "answers.ko.md", *(NOTEBOOKS / "sections").glob("*.py")]:
        assert "../shared" not in page.read_text(encoding="utf-8"), f"{page.name} names a folder outside the repository"
