"""Write notebooks/chapter12.ipynb (Korean) and chapter12.en.ipynb (English) from notebooks/source.py.

    python notebooks/build.py            # (re)write both notebooks, without outputs
    python notebooks/build.py --check    # exit 1 if a committed notebook differs from the source
    python notebooks/build.py --execute  # run both notebooks (nbclient) in a temporary folder, offline-safe;
                                         # add --budget ci for the CI test's seconds-long trainings
    nice -n 10 python notebooks/build.py --preview   # execute both (QUICK = True, embedded mnist-5k, about
                                         # 15 to 20 minutes each on 2 cores) and render docs/notebooks/*.html

Needs nbformat (nbclient + ipykernel for --execute, nbconvert for --preview): pip install -e ".[notebook]".
A preview records the SHA-256 of the notebook it was executed from (<meta name="genlab-notebook-sha256">);
tests/test_notebooks.py fails when that is not the committed notebook's, so a changed notebook needs
a new preview.
"""
from __future__ import annotations

import argparse
import hashlib
import html
import importlib.util
import os
import platform
import re
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
LANGUAGES = {"ko": "chapter12.ipynb", "en": "chapter12.en.ipynb"}
PREVIEWS = HERE.parent / "docs" / "notebooks"            # docs/notebooks/chapter12.html, chapter12.en.html
HASH_META = "genlab-notebook-sha256"
BUDGET_META = "genlab-notebook-budget"
COMMENT = re.compile(r"#\s*@ko\s+(?P<ko>.*?)\s+@en\s+(?P<en>.*?)\s*$")
INLINE = re.compile(r"«(?P<ko>[^«»|]*)\|(?P<en>[^«»|]*)»")
KERNEL = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def _source():
    spec = importlib.util.spec_from_file_location("genlab_notebook_source", HERE / "source.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module   # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def localize(text: str, language: str) -> str:
    """A code cell in one language: `# @ko 가 @en b` -> `# 가` or `# b`; `«가|b»` -> `가` or `b`."""
    lines = []
    for line in text.splitlines():
        line = COMMENT.sub(lambda match: "# " + match.group(language), line)
        lines.append(INLINE.sub(lambda match: match.group(language), line))
    result = "\n".join(lines)
    if "@ko" in result or "@en" in result or "«" in result or "»" in result:
        raise ValueError(f"an unparsed language marker is left in this cell:\n{result}")
    return result


def build(language: str):
    """The notebook for `language` ("ko" or "en") as an nbformat NotebookNode, with no outputs."""
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.metadata = {"kernelspec": dict(KERNEL), "language_info": {"name": "python"}}
    for index, cell in enumerate(_source().CELLS):
        cell_id = f"{cell.kind[:2]}-{index:02d}"
        if cell.kind == "markdown":
            notebook.cells.append(nbformat.v4.new_markdown_cell(getattr(cell, language), id=cell_id))
        else:
            notebook.cells.append(nbformat.v4.new_code_cell(localize(getattr(cell, language), language), id=cell_id))
    nbformat.validate(notebook)
    return notebook


def text(language: str) -> str:
    """The exact file contents of the notebook for `language`."""
    import nbformat

    return nbformat.writes(build(language)) + "\n"


def execute(path: Path, workdir: Path, timeout: int = 600):
    """Run one notebook with nbclient in `workdir`; returns the executed notebook (raises on any error)."""
    import nbclient
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                                     resources={"metadata": {"path": str(workdir)}})
    client.execute()
    return notebook


def preview_name(language: str) -> str:
    """chapter12.ipynb -> chapter12.html, chapter12.en.ipynb -> chapter12.en.html."""
    return LANGUAGES[language].removesuffix(".ipynb") + ".html"


def notebook_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def recorded(page: str, name: str) -> str | None:
    """The content of <meta name="NAME" content="..."> in a preview page, or None."""
    found = re.search(rf'<meta name="{re.escape(name)}" content="([^"]*)"', page)
    return found.group(1) if found else None


def _machine(language: str) -> str:
    """The machine in words: cores, processor, load, versions (what a preview's numbers depend on)."""
    processor = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                processor = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import keras

    versions = [f"Python {platform.python_version()}", f"Keras {keras.__version__}"]
    try:
        import tensorflow

        versions.append(f"TensorFlow {tensorflow.__version__}")
    except ImportError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = os.getloadavg()[1] if hasattr(os, "getloadavg") else None
    if language == "ko":
        busy = f", 다른 작업과 함께(부하 평균 {load:.0f})" if load is not None and load > cores else ""
        return f"{processor}의 CPU 코어 {cores}개{busy}, {', '.join(versions)}"
    busy = f", shared with other work (load average {load:.0f})" if load is not None and load > cores else ""
    return f"{cores} CPU cores of {processor}{busy}, {', '.join(versions)}"


_HEADER = {
    "ko": ("**미리 보기.** 저장소의 `notebooks/{name}`을 처음부터 끝까지 실행한 결과입니다. `QUICK = True`, 내장 "
           "`mnist-5k`로 {machine}에서 {minutes:.0f}분 걸렸습니다. 다시 만드는 명령: `python notebooks/build.py --preview`."),
    "en": ("**Preview.** `notebooks/{name}` in the repository, executed top to bottom with `QUICK = True` on the "
           "embedded `mnist-5k`: {minutes:.0f} minutes on {machine}. Made again by `python notebooks/build.py --preview`."),
}


def _sanitized(text: str, workdir: Path) -> str:
    """An output without the paths of the machine that made the preview."""
    text = text.replace(str(workdir.resolve()) + os.sep, "").replace(str(workdir.resolve()), ".")
    text = re.sub(r"(/[^\s'\"():]+)*/site-packages/", "", text)
    return re.sub(r"(/[^\s'\"():]+)*/src/genlab/", "genlab/", text)


def preview(language: str, budget: str = "quick", out: Path = PREVIEWS, timeout: int = 1800) -> Path:
    """Execute the committed notebook for `language` in a fresh folder (embedded mnist-5k, no data
    folder, an empty home) and render it to OUT/<name>.html with its SHA-256 and budget recorded."""
    import nbformat
    from nbconvert import HTMLExporter

    source = HERE / LANGUAGES[language]
    with tempfile.TemporaryDirectory(prefix="genlab-preview-") as temporary:
        workdir = Path(temporary)
        (workdir / "home").mkdir()
        saved = dict(os.environ)
        os.environ.pop("GENLAB_DATA_DIR", None)
        os.environ.update(HOME=str(workdir / "home"), GENLAB_NOTEBOOK_DATASET="mnist-5k", TF_CPP_MIN_LOG_LEVEL="3")
        if budget == "ci":
            os.environ["GENLAB_NOTEBOOK_BUDGET"] = "ci"
        else:
            os.environ.pop("GENLAB_NOTEBOOK_BUDGET", None)
        try:
            started = time.perf_counter()
            executed = execute(source, workdir, timeout=timeout)
            minutes = (time.perf_counter() - started) / 60
        finally:
            os.environ.clear()
            os.environ.update(saved)
        for cell in executed.cells:
            for output in cell.get("outputs", []):
                if "text" in output:
                    output["text"] = _sanitized(output["text"], workdir)
                for kind in ("text/plain", "text/html"):
                    if kind in output.get("data", {}):
                        output["data"][kind] = _sanitized(output["data"][kind], workdir)
    header = _HEADER[language].format(name=source.name, minutes=minutes, machine=_machine(language))
    executed.cells.insert(0, nbformat.v4.new_markdown_cell(header, id="preview"))
    page, _ = HTMLExporter(template_name="lab").from_notebook_node(executed)
    meta = (f'<meta name="{HASH_META}" content="{notebook_sha256(source)}">\n'
            f'<meta name="{BUDGET_META}" content="{html.escape(budget)}">\n')
    page = page.replace("<head>", "<head>\n" + meta, 1)
    out.mkdir(parents=True, exist_ok=True)
    target = out / preview_name(language)
    target.write_text(page, encoding="utf-8")
    return target


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if a committed notebook differs from source.py")
    parser.add_argument("--execute", action="store_true", help="run both notebooks with nbclient")
    parser.add_argument("--budget", choices=("quick", "ci"), default="quick", help="ci: seconds-long trainings")
    parser.add_argument("--out", default=None, help="--execute: folder for the executed notebooks and runs; "
                                                    "--preview: folder for the HTML pages (docs/notebooks)")
    parser.add_argument("--preview", action="store_true", help="execute both notebooks and render docs/notebooks/*.html")
    parser.add_argument("--language", choices=sorted(LANGUAGES), action="append", help="--preview: only this notebook")
    args = parser.parse_args(argv)
    if args.preview:
        for language in args.language or LANGUAGES:
            started = time.perf_counter()
            target = preview(language, args.budget, Path(args.out) if args.out else PREVIEWS)
            print(f"{target}: {target.stat().st_size / 1e6:.1f} MB, {time.perf_counter() - started:.0f} s", flush=True)
        return 0
    if args.execute:
        if args.budget == "ci":
            os.environ["GENLAB_NOTEBOOK_BUDGET"] = "ci"
        out = Path(args.out or tempfile.mkdtemp(prefix="genlab-notebooks-"))
        for language, name in LANGUAGES.items():
            workdir = out / language
            workdir.mkdir(parents=True, exist_ok=True)
            started = time.perf_counter()
            executed = execute(HERE / name, workdir)
            import nbformat

            nbformat.write(executed, workdir / name)
            print(f"{name}: executed in {time.perf_counter() - started:.0f} s -> {workdir / name}", flush=True)
        return 0
    stale = []
    for language, name in LANGUAGES.items():
        path = HERE / name
        wanted = text(language)
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != wanted:
                stale.append(name)
        else:
            path.write_text(wanted, encoding="utf-8")
            print(f"wrote {path}")
    if stale:
        print(f"out of date with notebooks/source.py: {', '.join(stale)}; run python notebooks/build.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
