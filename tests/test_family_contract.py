"""The family contract: discovery (a file in genlab/families/, GENLAB_FAMILY_PATH, an installed
plugin's entry point), the typed declaration's checks, and generic code that never names a family."""
from __future__ import annotations

import ast
import dataclasses
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import readme_family_source, raises_one_line

from genlab import api, contract, families
from genlab.errors import GenlabError

SOURCE = Path(__file__).resolve().parents[1] / "src" / "genlab"


def test_the_readme_example_is_discovered_as_a_family():
    file_name, _ = readme_family_source()
    name = Path(file_name).stem
    assert name in families.names()
    family = families.get(name)
    assert family.problems() == []
    assert family.can("sample")


def test_discovery_reads_names_without_importing(tmp_path, monkeypatch):
    """A module is listed from its source: one that would fail to import is still named, and
    fails only when used, with a clear error."""
    (tmp_path / "broken_family.py").write_text(
        "raise RuntimeError('imported')\nFAMILY = Family(name='broken-one', summary='x')\n")
    (tmp_path / "helpers_only.py").write_text("VALUE = 1\n")
    monkeypatch.setenv(families.FAMILY_PATH_VARIABLE, str(tmp_path))
    families.refresh()
    try:
        assert "broken-one" in families.names()
        assert "helpers_only" not in families.names()
        with pytest.raises(RuntimeError, match="imported"):
            families.get("broken-one")
    finally:
        monkeypatch.delenv(families.FAMILY_PATH_VARIABLE)
        families.__path__[:] = [entry for entry in families.__path__ if entry != str(tmp_path.resolve())]
        families.refresh()


def test_problems_name_what_is_wrong():
    family = families.get("gan")
    broken = dataclasses.replace(family, unit="minutes", purpose="generate", generate=None, tiny={"no_such_key": 1},
                                 sampler_options=(contract.SamplerOption("x", list, "?", "no_key"),))
    problems = " / ".join(broken.problems())
    for part in ("unit is 'minutes'", "no generate function", "tiny names keys the config does not have: no_such_key",
                 "reads config key 'no_key'", "has kind"):
        assert part in problems
    with pytest.raises(ValueError, match="unknown capability 'fly'"):
        family.can("fly")


def test_resumable_keys_are_the_family_s_own():
    assert families.get("diffusion").resumable() >= {"epochs", "fid_steps", "fid_samples"}
    assert "fid_steps" not in families.get("gan").resumable()
    assert "steps" in families.get("gan").resumable() and "epochs" not in families.get("gan").resumable()


def _plugin(tmp_path: Path, name: str) -> Path:
    """An installed distribution (a package and its .dist-info with a genlab.families entry point)
    in a folder of its own: what `pip install` of a plugin leaves in site-packages."""
    _, source = readme_family_source()
    package = tmp_path / "site" / "genlab_demo_plugin"
    package.mkdir(parents=True)
    readme_name = ast.literal_eval(next(keyword.value for node in ast.walk(ast.parse(source))
                                        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "Family"
                                        for keyword in node.keywords if keyword.arg == "name"))
    (package / "__init__.py").write_text(source.replace(f'name="{readme_name}"', f'name="{name}"'))
    info = tmp_path / "site" / "genlab_demo_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: genlab-demo-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[genlab.families]\n{name} = genlab_demo_plugin:FAMILY\n")
    return tmp_path / "site"


def test_a_plugin_package_adds_a_family_that_trains_and_samples(tmp_path, monkeypatch):
    site = _plugin(tmp_path, "plugin-pca")
    monkeypatch.syspath_prepend(str(site))
    families.refresh()
    try:
        assert "plugin-pca" in families.names()
        family = families.get("plugin-pca")
        assert family.problems() == []
        run = api.train("plugin-pca", overrides={"dataset": "mnist-5k", **family.tiny}, out=tmp_path / "run", verbose=0)
        for relative in family.files:
            assert (run.path / relative).is_file(), relative
        images = api.sample(run.path, 6, seed=3)
        assert images.shape == (6, 28, 28, 1) and np.isfinite(images).all()
        np.testing.assert_array_equal(images, api.sample(run.path, 6, seed=3))
    finally:
        sys.modules.pop("genlab_demo_plugin", None)
        monkeypatch.undo()
        families.refresh()
    assert "plugin-pca" not in families.names()


def test_a_plugin_entry_point_that_is_not_a_family_is_one_clear_line(tmp_path, monkeypatch):
    site = tmp_path / "site"
    (site / "not_a_family").mkdir(parents=True)
    (site / "not_a_family" / "__init__.py").write_text("FAMILY = 42\n")
    info = site / "not_a_family-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: not-a-family\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[genlab.families]\nodd = not_a_family:FAMILY\n")
    monkeypatch.syspath_prepend(str(site))
    families.refresh()
    try:
        with raises_one_line(GenlabError, r"entry point not_a_family:FAMILY does not define a genlab Family named 'odd'"):
            families.get("odd")
    finally:
        sys.modules.pop("not_a_family", None)
        monkeypatch.undo()
        families.refresh()


def _family_name_comparisons(path: Path, names: set[str]) -> list[str]:
    """Comparisons (==, !=, in, not in) of anything with a family name's string literal, and
    dictionaries keyed by family names: generic code asking a family's name instead of the family."""
    found = []
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        literals = []
        if isinstance(node, ast.Compare):
            for operand in [node.left, *node.comparators]:
                if isinstance(operand, ast.Constant):
                    literals.append(operand.value)
                elif isinstance(operand, (ast.Tuple, ast.List, ast.Set)):
                    literals.extend(item.value for item in operand.elts if isinstance(item, ast.Constant))
        elif isinstance(node, ast.Dict):
            literals.extend(key.value for key in node.keys if isinstance(key, ast.Constant))
        hits = [value for value in literals if isinstance(value, str) and value in names]
        if hits:
            found.append(f"{path.relative_to(SOURCE)}:{node.lineno} {', '.join(hits)}")
    return found


def test_generic_code_never_compares_a_family_name():
    """Outside genlab/families/ (and the chapter programme and the chapter's notebook, which are the
    chapter's programs by name), no module branches on a family's name."""
    names = set(families.names())
    allowed = {SOURCE / "chapter.py", SOURCE / "notebook.py"}
    found = []
    for path in sorted(SOURCE.rglob("*.py")):
        if "families" in path.relative_to(SOURCE).parts or path in allowed:
            continue
        found.extend(_family_name_comparisons(path, names))
    assert not found, "generic code names families: " + "; ".join(found)
