"""Every public function of genlab's Python API documents its parameters, what it returns and an
example, so that help(genlab.train) is what a student reads instead of the source."""
from __future__ import annotations

import inspect
import pydoc

import pytest

import genlab
from genlab import api

PUBLIC = [name for name in genlab.__dict__ if not name.startswith("_")
          and inspect.isfunction(getattr(genlab, name)) and getattr(genlab, name).__module__ in
          ("genlab.api", "genlab.saving", "genlab.sessions", "genlab.chapter", "genlab.explorer", "genlab.inventory",
           "genlab.density", "genlab.out_of_distribution")]
PUBLIC += ["input_images", "load_samples_file", "save_comparison", "save_json"]   # documented in the README, reached as genlab.api.*


def test_the_public_api_is_all_there():
    assert {"train", "sample", "interpolate", "reconstruct", "denoise", "evaluate", "report", "run_chapter", "explore",
            "config_help", "save_images", "open_run"} <= set(PUBLIC)


@pytest.mark.parametrize("name", PUBLIC)
def test_public_function_documents_parameters_returns_and_an_example(name):
    function = getattr(genlab, name, None) or getattr(api, name)
    doc = inspect.getdoc(function) or ""
    for section in ("Parameters:", "Returns:", "Example:"):
        assert section in doc, f"genlab.{name}: no '{section}' section"
    parameters = doc.split("Parameters:", 1)[1].split("Returns:", 1)[0]
    for parameter in inspect.signature(function).parameters:
        assert f"{parameter}:" in parameters, f"genlab.{name}: parameter '{parameter}' is not described"
    example = doc.split("Example:", 1)[1]
    assert f"{name}(" in example, f"genlab.{name}: the example does not call it"


def test_help_for_train_reads_as_a_guide():
    text = pydoc.render_doc(genlab.train, renderer=pydoc.plaintext)
    for phrase in ('"chapter"', "overrides", "run.path", "run.metrics", "Example", "config_help"):
        assert phrase in text
