"""Write notebooks/chapter12.ipynb (Korean) and chapter12.en.ipynb (English) from notebooks/source.py.

    python notebooks/build.py            # (re)write both notebooks, without outputs
    python notebooks/build.py --check    # exit 1 if a committed notebook differs from the source
    python notebooks/build.py --execute  # run both notebooks (nbclient) in a temporary folder, offline-safe;
                                         # add --budget ci for the CI test's seconds-long trainings

Needs nbformat (and nbclient + ipykernel for --execute): pip install -e ".[notebook]".
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import re
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
LANGUAGES = {"ko": "chapter12.ipynb", "en": "chapter12.en.ipynb"}
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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if a committed notebook differs from source.py")
    parser.add_argument("--execute", action="store_true", help="run both notebooks with nbclient")
    parser.add_argument("--budget", choices=("quick", "ci"), default="quick", help="ci: seconds-long trainings")
    parser.add_argument("--out", default=None, help="--execute: folder for the executed notebooks and runs")
    args = parser.parse_args(argv)
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
