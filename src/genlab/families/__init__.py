"""The family registry: families are discovered, never listed.

A family is one module in this folder that defines `FAMILY = Family(...)` (or
`FAMILIES = {name: Family(...)}` for two families sharing a file), or an installed package that
declares one through the `genlab.families` entry point group:

    [project.entry-points."genlab.families"]
    myfamily = "my_package.myfamily:FAMILY"

The contract (what a Family declares, the signatures of its functions) is genlab.contract.
Folders named in the environment variable GENLAB_FAMILY_PATH (separated like PATH) are searched
as if their modules were saved here: a family file can be tried without touching the install.
Modules here are read without being imported (their `name=` is found in the source), so
`genlab --help` stays fast; a family module is imported when it is first used. Modules here
that define neither name (shared network builders) are not families.
"""
from __future__ import annotations

import ast
import difflib
import importlib
import importlib.metadata
import os
import pkgutil
import types
from dataclasses import dataclass
from pathlib import Path

from genlab.contract import Family, ImageGrid   # noqa: F401  (re-exported: family modules import them from here)
from genlab.errors import GenlabError

ENTRY_POINT_GROUP = "genlab.families"
FAMILY_PATH_VARIABLE = "GENLAB_FAMILY_PATH"


@dataclass(frozen=True)
class _Found:
    """Where a family lives: a module here (attribute FAMILY or FAMILIES) or an entry point."""
    module: str
    chapter_program: int | None = None
    entry_point: importlib.metadata.EntryPoint | None = None


_FOUND: dict[str, _Found] | None = None


def _declared(tree: ast.Module) -> list[tuple[str | None, int | None]] | None:
    """(name, chapter_program) of each Family(...) assigned to FAMILY/FAMILIES at the top of a
    module's source; None when the module declares no family. A name that is not a literal is None."""
    found = None
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        if not any(isinstance(target, ast.Name) and target.id in ("FAMILY", "FAMILIES") for target in targets):
            continue
        found = found or []
        for call in ast.walk(node.value) if node.value is not None else ():
            if isinstance(call, ast.Call) and getattr(call.func, "id", getattr(call.func, "attr", None)) == "Family":
                keywords = {keyword.arg: keyword.value for keyword in call.keywords}
                name = keywords.get("name")
                program = keywords.get("chapter_program")
                found.append((name.value if isinstance(name, ast.Constant) and isinstance(name.value, str) else None,
                              program.value if isinstance(program, ast.Constant) and isinstance(program.value, int) else None))
        if not found:
            found.append((None, None))
    return found


def _loaded(module_name: str) -> dict[str, Family]:
    module = importlib.import_module(module_name)
    families = getattr(module, "FAMILIES", None)
    if families is None:
        family = module.FAMILY
        return {family.name: family}
    return dict(families)


def _extend_search_path() -> None:
    """GENLAB_FAMILY_PATH's folders join this package's own, so their modules import as
    genlab.families.NAME exactly like a file saved here."""
    for folder in filter(None, os.environ.get(FAMILY_PATH_VARIABLE, "").split(os.pathsep)):
        folder = str(Path(folder).resolve())
        if folder not in __path__:
            __path__.append(folder)


def _discover() -> dict[str, _Found]:
    _extend_search_path()
    found: dict[str, _Found] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_") or info.ispkg:
            continue
        module_name = f"{__name__}.{info.name}"
        path = Path(info.module_finder.path) / f"{info.name}.py"
        try:
            declared = _declared(ast.parse(path.read_text(encoding="utf-8")))
        except (OSError, SyntaxError, UnicodeDecodeError):
            declared = [(None, None)]   # not readable as source (compiled only): import it to know
        if declared is None or info.name in {found_module.rsplit(".", 1)[1] for found_module in _modules(found)}:
            continue   # not a family, or a module of that name was found earlier in the search path
        if any(name is None for name, _ in declared):
            for name, family in _loaded(module_name).items():
                found[name] = _Found(module_name, family.chapter_program)
        else:
            for name, program in declared:
                found[name] = _Found(module_name, program)
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if entry_point.name not in found:   # genlab's own families win over a plugin of the same name
            found[entry_point.name] = _Found(entry_point.module, None, entry_point)
    # The chapter's programs in the chapter's order, then the others alphabetically.
    order = sorted(found, key=lambda name: (found[name].chapter_program is None, found[name].chapter_program or 0, name))
    return {name: found[name] for name in order}


def _modules(found: dict[str, _Found]) -> set[str]:
    return {entry.module for entry in found.values()}


def refresh() -> None:
    """Forget what was discovered (a family file added or a plugin installed while running)."""
    global _FOUND
    _FOUND = None


def _registry() -> dict[str, _Found]:
    global _FOUND
    if _FOUND is None:
        _FOUND = _discover()
    return _FOUND


def names() -> list[str]:
    return list(_registry())


def get(name: str) -> Family:
    registry = _registry()
    if name not in registry:
        close = difflib.get_close_matches(name, list(registry), n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"families: {', '.join(registry)}"
        raise GenlabError(f"unknown model family '{name}'; {hint}")
    found = registry[name]
    if found.entry_point is not None:
        loaded = found.entry_point.load()   # "package.module:FAMILY", "...:FAMILIES" or "package.module"
        if isinstance(loaded, types.ModuleType):
            families = _loaded(loaded.__name__)
        else:
            families = loaded if isinstance(loaded, dict) else {getattr(loaded, "name", None): loaded}
    else:
        families = _loaded(found.module)
    family = families.get(name)
    if not isinstance(family, Family):
        where = f"entry point {found.entry_point.value}" if found.entry_point is not None else f"module {found.module}"
        raise GenlabError(f"the {where} does not define a genlab Family named '{name}'; "
                          "define FAMILY = Family(name=..., ...) (see genlab.contract)")
    return family


def all_families() -> list[Family]:
    return [get(name) for name in names()]
