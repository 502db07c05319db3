"""`genlab report` is safe to share and survives damaged run folders.

Run folders may come from anyone: every value reaches the page escaped, only regular files inside
the run folder are embedded, and a damaged file is a note on the page, never a traceback (nor a
write into the run folder). One tiny run is trained per session (shared_tiny_run); each test
damages its own copy.
"""
from __future__ import annotations

import errno
import io
import json
import os
import re
import shutil
from pathlib import Path

import pytest
from conftest import raises_one_line

from genlab import api, report_html
from genlab.errors import GenlabError
from genlab.runs import Run

EVALUATION = {"count": 1000, "num_classes": 10,
              "rows": {"ae samples": {"fid": 30.0, "class_coverage": 0.9},
                       "real training images": {"fid": 0.15, "class_coverage": 1.0},
                       "per-pixel mean image": {"fid": 108.0, "class_coverage": 0.1}}}


@pytest.fixture(scope="module")
def base_run(shared_tiny_run, tmp_path_factory) -> Path:
    """A tiny ae run with an evaluation.json and sample-quality numbers, so the headline computes
    with every file the report reads (each damaged below)."""
    path = tmp_path_factory.mktemp("report-safety") / "base"
    shutil.copytree(shared_tiny_run("ae").path, path)
    Run(path).update_metrics({"sample_fid": 30.0, "sample_class_coverage": 0.9})
    (path / report_html.EVALUATION_FILE).write_text(json.dumps(EVALUATION))
    return path


def _copy(base: Path, to: Path) -> Path:
    shutil.copytree(base, to, symlinks=True)
    return to


# Captured before any test makes opening a file fail (_unreadable): the snapshots still read it.
_REAL_OPEN = io.open


def _snapshot(folder: Path) -> dict:
    """Every entry of the folder: type, mtime and content (a symlink's target). FIFOs are not read."""
    state = {}
    for parent, folders, files in os.walk(folder):
        for name in folders + files:
            path = Path(parent) / name
            info = path.lstat()
            if path.is_symlink():
                content = os.readlink(path)
            else:
                content = None
                if path.is_file():
                    with _REAL_OPEN(path, "rb") as handle:
                        content = handle.read()
            state[str(path.relative_to(folder))] = (info.st_mode, info.st_mtime_ns, content)
    return state


def _sections(page: str) -> list[str]:
    return page.split('<section id="run')[1:]


# ---------------------------------------------------------------------------- damaged files
def _write(name: str, text: str):
    return lambda run, monkeypatch: (run / name).write_text(text)


def _edit_json(name: str, edit):
    def damage(run, monkeypatch):
        data = json.loads((run / name).read_text())
        edit(data)
        (run / name).write_text(json.dumps(data))
    return damage


def _edit_toml(old: str, new: str):
    def damage(run, monkeypatch):
        text = (run / "config.toml").read_text()
        assert old in text
        (run / "config.toml").write_text(text.replace(old, new))
    return damage


def _unreadable(relative: str):
    """Tests run as root, which chmod 000 does not stop: opening the file is made to fail instead,
    by the os-level call and by the one behind Path.read_bytes and open()."""
    def damage(run, monkeypatch):
        target = os.path.realpath(run / relative)

        def refusing(real_open):
            def opener(path, *args, **kwargs):
                if isinstance(path, (str, os.PathLike)) and os.path.realpath(path) == target:
                    raise PermissionError(errno.EACCES, "Permission denied", str(path))
                return real_open(path, *args, **kwargs)
            return opener

        monkeypatch.setattr(os, "open", refusing(os.open))
        monkeypatch.setattr(io, "open", refusing(io.open))
    return damage


def _rows(edit):
    return _edit_json("evaluation.json", lambda data: edit(data["rows"]))


# case -> (how the copy is damaged, what the page must say about it)
DAMAGE = {
    "evaluation.json invalid JSON": (_write("evaluation.json", '{"rows": {'), "evaluation.json is damaged"),
    "evaluation.json a list": (_write("evaluation.json", "[1, 2]"), "evaluation.json is damaged"),
    "evaluation.json rows not an object": (_edit_json("evaluation.json", lambda d: d.update(rows="x")),
                                           "evaluation.json is damaged"),
    "evaluation.json a row not an object": (_rows(lambda rows: rows.update({"real training images": 3})),
                                            "evaluation.json is damaged"),
    "evaluation.json a string metric": (_rows(lambda rows: rows["real training images"].update(fid="low")),
                                        "evaluation.json is damaged"),
    "evaluation.json count a string": (_edit_json("evaluation.json", lambda d: d.update(count="many")),
                                       "evaluation.json is damaged"),
    "evaluation.json num_classes 0": (_edit_json("evaluation.json", lambda d: d.update(num_classes=0)),
                                      "evaluation.json is damaged"),
    "evaluation.json num_classes a string": (_edit_json("evaluation.json", lambda d: d.update(num_classes="ten")),
                                             "evaluation.json is damaged"),
    "metrics.json invalid JSON": (_write("metrics.json", '{"status": '), "metrics.json is damaged"),
    "metrics.json a list": (_write("metrics.json", "[]"), "metrics.json is damaged"),
    "metrics.json a string for a number": (_edit_json("metrics.json", lambda d: d.update(test_accuracy="high")),
                                           "metrics.json is damaged"),
    "metrics.json NaN": (_edit_json("metrics.json", lambda d: d.update(test_mse=float("nan"))), "metrics.json is damaged"),
    "metrics.json infinity": (_edit_json("metrics.json", lambda d: d.update(sample_fid=float("inf"))),
                              "metrics.json is damaged"),
    "metrics.json an int too big for a float": (_edit_json("metrics.json", lambda d: d.update(test_mse=10**400)),
                                                "metrics.json is damaged"),
    "metrics.json an int of 5000 digits": (_write("metrics.json", '{"test_mse": ' + "1" * 5000 + "}"),
                                           "metrics.json is damaged"),
    "metrics.json status a number": (_edit_json("metrics.json", lambda d: d.update(status=3)), "metrics.json is damaged"),
    "config.toml invalid TOML": (_edit_toml('family = "ae"', "family = "), "config.toml is damaged"),
    "config.toml unknown family": (_edit_toml('family = "ae"', 'family = "nosuch"'), "config.toml is damaged"),
    "config.toml family not a string": (_edit_toml('family = "ae"', "family = 3"), "config.toml is damaged"),
    "config.toml no family": (_edit_toml('family = "ae"', ""), "config.toml is damaged"),
    "an unreadable figure": (_unreadable("figures/latent.png"), "figures/latent.png unreadable: Permission denied"),
}


@pytest.mark.parametrize("case", list(DAMAGE))
def test_a_damaged_file_is_a_note_and_the_page_is_written(case, base_run, tmp_path, monkeypatch):
    damage, says = DAMAGE[case]
    run = _copy(base_run, tmp_path / "damaged")
    damage(run, monkeypatch)
    before = _snapshot(run)
    page = api.report([run, base_run], tmp_path / "report.html")
    assert _snapshot(run) == before, "the report wrote into the run folder"
    damaged, intact = _sections(page.read_text())
    assert says in damaged
    # The intact run beside it is shown whole: its headline, its figures, no damage note.
    assert 'class="damage"' not in intact
    assert "test MSE" in intact and intact.count("<img ") == 3


def test_every_path_unreadable_as_a_run_is_one_line(tmp_path):
    with raises_one_line(GenlabError, "not a genlab run folder"):
        api.report([tmp_path / "nothing", tmp_path], tmp_path / "report.html")


def test_a_path_that_is_no_run_beside_a_run_is_a_note(base_run, tmp_path):
    page = api.report([tmp_path / "nothing", base_run], tmp_path / "report.html").read_text()
    missing, intact = _sections(page)
    assert "not a genlab run folder" in missing and "test MSE" in intact


# ---------------------------------------------------------------------------- figures
def _outside_file(tmp_path: Path) -> Path:
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"SECRET-OUTSIDE-THE-RUN")
    return secret


def test_a_figure_pointing_outside_the_run_is_not_embedded(base_run, tmp_path):
    import base64

    run = _copy(base_run, tmp_path / "run")
    secret = _outside_file(tmp_path)
    (run / "figures" / "samples.png").symlink_to(secret)
    (run / "figures" / "reconstructions.png").unlink()    # the chapter figure, too
    (run / "figures" / "reconstructions.png").symlink_to(secret)
    (run / "figures" / "again.png").symlink_to("curves.png")   # inside the run: resolved and shown
    page = report_html.build([run], tmp_path / "report.html").read_text()
    assert base64.b64encode(secret.read_bytes()).decode()[:20] not in page
    for name in ("samples.png", "reconstructions.png"):
        assert f"figure figures/{name} skipped: it points outside the run folder" in page
    assert 'alt="again.png"' in page and 'alt="curves.png"' in page


def test_a_figures_folder_pointing_outside_is_not_listed(base_run, tmp_path):
    run = _copy(base_run, tmp_path / "run")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    _outside_file(outside)
    shutil.rmtree(run / "figures")
    (run / "figures").symlink_to(outside)
    page = report_html.build([run], tmp_path / "report.html").read_text()
    assert "figures/ skipped: it points outside the run folder" in page and "secret.png" not in page


def test_files_that_are_not_regular_are_skipped(base_run, tmp_path):
    run = _copy(base_run, tmp_path / "run")
    (run / "figures" / "folder.png").mkdir()
    os.mkfifo(run / "figures" / "pipe.png")    # opening it to read would wait for a writer
    page = report_html.build([run], tmp_path / "report.html").read_text()
    for name in ("folder.png", "pipe.png"):
        assert f"figure figures/{name} skipped: not a regular file" in page
    assert page.count("<img ") == 3


def test_a_huge_figure_is_skipped(base_run, tmp_path, monkeypatch):
    run = _copy(base_run, tmp_path / "run")
    size = (run / "figures" / "latent.png").stat().st_size
    monkeypatch.setattr(report_html, "MAX_FIGURE_BYTES", size - 1)
    page = report_html.build([run], tmp_path / "report.html").read_text()
    assert f"figure figures/latent.png skipped: {size:,} bytes, over the {size - 1:,} a report embeds" in page
    assert 'alt="latent.png"' not in page and 'alt="curves.png"' in page


@pytest.mark.parametrize("name", ["metrics.json", "config.toml", report_html.EVALUATION_FILE])
def test_run_files_pointing_outside_are_not_read(base_run, tmp_path, name):
    run = _copy(base_run, tmp_path / "run")
    outside = tmp_path / ("outside-" + name)
    # Valid content each reader would accept, holding a value that must not reach the page.
    outside.write_text({"metrics.json": '{"test_mse": 0.123456, "secret": 987654321}',
                        "config.toml": 'family = "ae"\n[config]\nsecret = 987654321\n',
                        report_html.EVALUATION_FILE: '{"rows": {"secret 987654321": {"fid": 1.0}}}'}[name])
    (run / name).unlink()
    (run / name).symlink_to(outside)
    page = report_html.build([run], tmp_path / "report.html").read_text()
    assert f"{name} skipped: it points outside the run folder" in page
    assert "987654321" not in page


# ---------------------------------------------------------------------------- escaping
def _hostile_run(base: Path, tmp_path: Path) -> Path:
    """A run whose every file (and folder name) holds markup, numbered alert(0)..alert(7)."""
    run = _copy(base, tmp_path / "<img src=x onerror=alert(0)>")
    (run / report_html.EVALUATION_FILE).write_text(json.dumps(
        {"count": "<img src=x onerror=alert(1)>", "num_classes": 10,
         "rows": {"<img src=x onerror=alert(2)>": {"fid": 3.0}, "real training images": {"fid": 0.1}}}))
    metrics = json.loads((run / "metrics.json").read_text())
    metrics.update({"<img src=x onerror=alert(3)>": 1.5, "dataset": "<script>alert(4)</script>",
                    "status": "complete\"><script>alert(5)</script>"})
    (run / "metrics.json").write_text(json.dumps(metrics))
    with open(run / "config.toml", "a") as handle:   # appended to the [config] table
        handle.write("'<img src=x onerror=alert(6)>' = \"</script><script>alert(7)</script>\"\n")
    return run


def test_every_value_reaches_the_page_escaped(base_run, tmp_path):
    run = _hostile_run(base_run, tmp_path)
    page = report_html.build([run, base_run], tmp_path / "report.html", title="<script>alert(8)</script>",
                             subtitle="<img src=x onerror=alert(9)>").read_text()
    for number in range(10):
        assert f"alert({number})" in page, f"value {number} did not reach the page"
    assert "<img src=x" not in page
    assert page.count("<script") == 1      # the page's own image check, nothing injected
    assert re.search(r'class="status-[^"]*"', page).group(0) == 'class="status-other"'
    assert "&lt;img src=x onerror=alert(2)&gt;" in page   # a row name, shown as text


def test_title_is_escaped_through_the_api(base_run, tmp_path):
    page = api.report([base_run], tmp_path / "report.html", title="<img src=x onerror=alert(1)>").read_text()
    assert "<img src=x" not in page and page.count("&lt;img src=x onerror=alert(1)&gt;") == 2
