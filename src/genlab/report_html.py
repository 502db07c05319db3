"""`genlab report RUN...`: one self-contained HTML page (images embedded as data URIs).

The page reads like the chapter: a table of every program's headline numbers, then per run its
headline numbers against their baselines (accuracy against chance; MSE against the per-pixel
mean image; FID and class coverage beside the two reference rows), its chapter figure first,
the other figures after it, and the full metric list and config folded away.

A report is meant to be shared, and its run folders may come from anyone, so:
  * every value that reaches the page (numbers, names, keys, titles, messages) passes `_esc`;
  * only regular files inside the run folder are embedded: a figure whose symlink leaves the
    folder, a FIFO, a device, a folder named x.png, or one over MAX_FIGURE_BYTES is a short note;
  * a damaged file (config.toml, metrics.json, evaluation.json, a figure) is a note saying which
    file and what is wrong, never a traceback; the rest of that run and the other runs still show.
The report only reads run folders: nothing in them is ever written.
"""
from __future__ import annotations

import base64
import html
import json
import math
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from genlab import families, io, outputs
from genlab.errors import GenlabError, RunError
from genlab.runs import Run

# Written beside metrics.json by `genlab run chapter`: the sample-quality rows (the run's samples
# and the two reference rows), which metrics.json alone does not keep.
EVALUATION_FILE = "evaluation.json"
# Larger figures are left out with a note: a chapter figure is well under 1 MB, and a page of
# base64 blobs this size would be slow to open and to send.
MAX_FIGURE_BYTES = 24 * 1024 * 1024
# evaluation.json is a few hundred bytes; anything near this is not one genlab wrote.
MAX_EVALUATION_BYTES = 4 * 1024 * 1024
# num_classes beyond this is damage, not a dataset (and would overflow the coverage arithmetic).
MAX_CLASSES = 100_000


def _family(name: str):
    """The registered family of that name, None for a name no family has (a damaged run)."""
    return families.get(name) if name in families.names() else None


def program_name(name: str) -> str:
    """How the page names a run's family: "program 2 · autoencoder" for the chapter's programs."""
    family = _family(name)
    if family is None or family.chapter_program is None:
        return name
    return f"program {family.chapter_program} · {family.title or family.name}"


def _showcase(name: str) -> tuple[str, str] | None:
    family = _family(name)
    return family.showcase if family is not None else None

SAMPLES_CAPTION = "samples from the trained generator"
# The rest, in reading order; anything else in figures/ follows alphabetically.
FIGURE_ORDER = ("reconstructions.png", "denoising.png", "samples.png", "progress.gif", "losses.png", "curves.png",
                "latent.png", "confusion_matrix.png", "misclassified.png", "untrained.png")
CAPTIONS = {
    "progress.gif": "the fixed-noise grid over training",
    "losses.png": "discriminator and generator losses (dashed: discriminator accuracy)",
    "curves.png": "training and validation curves per epoch",
    "latent.png": "test codes projected to 2-D",
    "confusion_matrix.png": "test confusion matrix",
    "misclassified.png": "misclassified test digits (true → predicted)",
    "untrained.png": "the untrained generator's output",
    "reconstructions.png": "test digits and their reconstructions",
    "strip.png": "the chapter's figure: five samples from fresh noise",
}
HEADLINE = ("test_accuracy", "test_mse", "baseline_mean_mse", "noisy_mse", "sample_fid", "sample_class_coverage",
            "sample_precision", "sample_recall", "sample_classifier_score", "seconds_per_epoch", "seconds_per_step",
            "train_wall_s")
# Sample-quality columns shown for generative runs, with their headers.
# (key, header, format): FID spans 0.1 to 100+, so significant digits; the shares two decimals.
SAMPLE_COLUMNS = (("fid", "FID ↓", ".3g"), ("class_coverage", "class coverage ↑", ".2f"), ("precision", "precision", ".2f"),
                  ("recall", "recall", ".2f"), ("classifier_score", "classifier score", ".2f"))

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;background:#f6f7f9;color:#1d232b}
header{background:#1d3557;color:#fff;padding:18px 32px}header h1{margin:0;font-size:22px}
header p{margin:4px 0 0;opacity:.8;font-size:13px}main{padding:16px 32px 48px}
section{background:#fff;border-radius:10px;box-shadow:0 1px 3px rgba(0,0,0,.08);padding:16px 22px;margin:18px 0}
h2{font-size:18px;margin:0 0 6px}h3{font-size:14px;margin:18px 0 6px;color:#45556a}
table{border-collapse:collapse;font-size:13px;margin:6px 0}td,th{padding:4px 10px;border-bottom:1px solid #e4e7eb;text-align:right}
th{background:#eef1f5;text-align:center}td:first-child,th:first-child{text-align:left}
table.headline{font-size:15px}table.headline td{text-align:left}table.headline td.value{font-weight:600;text-align:right}
table.samples td{text-align:right}table.samples td:first-child{text-align:left}
tr.reference td{color:#5a6675}
.status-complete{color:#2a7d3f;font-weight:600}.status-failed{color:#b3261e;font-weight:600}
.figures{display:flex;flex-wrap:wrap;gap:14px;align-items:flex-start}
figure{margin:0;background:#fafbfc;border:1px solid #e4e7eb;border-radius:8px;padding:8px}
figure img{max-width:100%;height:auto;display:block}figcaption{font-size:12px;color:#5a6675;margin-top:4px}
figure.chapter{margin:8px 0 14px;border-color:#9db4d3}figure.chapter img{max-width:1100px}
figure.chapter img.square{max-width:760px}
.wide img{max-width:1100px}.small img{max-width:420px}code{font-size:12px}
details{margin-top:10px}details summary{cursor:pointer;color:#45556a;font-size:13px}
.scroll{overflow-x:auto}td:first-child{white-space:nowrap}p.note{font-size:12px;color:#5a6675;margin:2px 0}
p.damage{font-size:13px;color:#b3261e;margin:4px 0}
"""


# Records how many embedded images the browser actually decoded (used by the tests, harmless otherwise).
IMAGE_CHECK = ("window.addEventListener('load',function(){var i=document.images,n=0;"
               "for(var k=0;k<i.length;k++){if(i[k].complete&&i[k].naturalWidth>0)n++;}"
               "document.body.setAttribute('data-images-total',i.length);document.body.setAttribute('data-images-shown',n);});")


# ---------------------------------------------------------------------------- values
def _esc(value) -> str:
    """The one way a value reaches the page: run folders, titles and captions may hold markup."""
    return html.escape(str(value), quote=True)


def _real(value) -> float | None:
    """`value` as a finite float; None for anything else (a string, a bool, NaN, an int too big for a float)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _positive_int(value, most: int | None = None) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1 or (most is not None and value > most):
        return None
    return value


def _shown(value) -> str:
    """A value from a damaged file, cut short for its damage line (the line is escaped where it is shown)."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _one_line(error: BaseException) -> str:
    return (str(error).splitlines() or [type(error).__name__])[0]


def _format(value) -> str:
    if isinstance(value, float) and math.isfinite(value):
        return f"{value:.4g}" if abs(value) < 1e4 else f"{value:.0f}"
    return _esc(value)


def _number(value, spec: str = ".4g") -> str:
    number = _real(value)
    return format(number, spec) if number is not None else "–"


# ---------------------------------------------------------------------------- reading run files
class _Refused(Exception):
    """Why a file of a run folder was not read, as the page says it: "skipped: ..." or "unreadable: ..."."""


def _inside(run: Run, path: Path) -> bool:
    """Whether `path`, every symlink followed, stays inside the run folder (realpath: a loop is not an error here)."""
    return Path(os.path.realpath(run.path)) in Path(os.path.realpath(path)).parents


def _too_big(size: int, limit: int) -> _Refused:
    return _Refused(f"skipped: {size:,} bytes, over the {limit:,} a report embeds")


def _read_inside(run: Run, path: Path, limit: int) -> bytes:
    """The bytes of `path` if it is a regular file inside the run folder of at most `limit` bytes, else _Refused.

    Files outside are never opened (a shared report must not carry e.g. /etc/hostname). A FIFO
    or device is not opened either: reading a FIFO waits for a writer, a device may act on it.
    """
    if not _inside(run, path):
        raise _Refused("skipped: it points outside the run folder")
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise _Refused("skipped: not a regular file")
        # O_NONBLOCK and the fstat: what was opened is checked, in case the file was swapped meanwhile.
        with open(os.open(path, os.O_RDONLY | os.O_NONBLOCK), "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise _Refused("skipped: not a regular file")
            if info.st_size > limit:
                raise _too_big(info.st_size, limit)
            data = handle.read(limit + 1)   # +1: a file that grew since the fstat is caught below
    except OSError as error:
        raise _Refused(f"unreadable: {error.strerror or _one_line(error)}") from error
    if len(data) > limit:
        raise _too_big(len(data), limit)
    return data


def read_evaluation(run: Run) -> dict:
    """RUN/evaluation.json: {"rows": {name: metrics}, "count": N, "num_classes": K}, or {} if absent.

    A file that is damaged, unreadable or no regular file inside the run is one RunError naming
    it; the values' types are checked by the report (_checked_evaluation), not here.
    """
    path = run.path / EVALUATION_FILE
    if not os.path.lexists(path):
        return {}
    fix = "restore it from a copy, or delete it to leave the sample-quality table out"
    try:
        data = json.loads(_read_inside(run, path, MAX_EVALUATION_BYTES).decode("utf-8"))
    except _Refused as refused:
        raise RunError(f"{path} {refused}; {fix}") from refused
    except UnicodeDecodeError as error:
        raise RunError(f"{path} is damaged (not UTF-8 text); {fix}") from error
    except json.JSONDecodeError as error:
        raise RunError(f"{path} is damaged ({error.msg} at line {error.lineno}, column {error.colno}); {fix}") from error
    except (ValueError, RecursionError) as error:   # a number of thousands of digits, nesting thousands deep
        raise RunError(f"{path} is damaged ({_one_line(error)}); {fix}") from error
    if not isinstance(data, dict):
        raise RunError(f"{path} is damaged (not a JSON object); {fix}")
    return data


def _damaged(path: Path, detail: str) -> str:
    return f"{path} is damaged ({detail}); restore it from a copy"


def _file_error(path: Path, error: Exception) -> str:
    """One damage line for a run file that could not be read. genlab's own errors already name the
    file; anything else (the json module refusing a 5000-digit number) is named here."""
    return _one_line(error) if isinstance(error, GenlabError) else _damaged(path, _one_line(error))


def _load_header(run: Run, damage: list[str]) -> tuple[str, dict]:
    """config.toml's family (or "?") and its document, each problem one line in `damage`."""
    path = run.path / "config.toml"
    try:
        if not _inside(run, path):
            raise RunError(f"{path} skipped: it points outside the run folder")
        header = run.read_header()
    except (GenlabError, ValueError, RecursionError) as error:
        damage.append(_file_error(path, error))
        return "?", {}
    family = header.get("family")
    if not isinstance(family, str):
        damage.append(_damaged(path, f"its family is {_shown(family)}, not a family name"))
        family = "?"
    elif family not in families.names():
        damage.append(_damaged(path, f"it names an unknown family {_shown(family)}"))
    if not isinstance(header.get("config", {}), dict):
        damage.append(_damaged(path, "[config] is not a table"))
        header = {**header, "config": {}}
    return family, header


def _load_metrics(run: Run, damage: list[str]) -> tuple[dict, dict]:
    """metrics.json as read (all its numbers are listed) and with the numbers the page computes with checked."""
    path = run.path / "metrics.json"
    try:
        if os.path.lexists(path) and not _inside(run, path):
            raise RunError(f"{path} skipped: it points outside the run folder")
        metrics = run.read_metrics()
    except (GenlabError, ValueError, RecursionError) as error:
        damage.append(_file_error(path, error))
        return {}, {}
    return metrics, _checked_metrics(metrics, path, damage)


def _checked_metrics(metrics: dict, path: Path, damage: list[str]) -> dict:
    """`metrics` less each value the page would compute with that has the wrong type: each one damage line."""
    checked = dict(metrics)
    for key in HEADLINE + ("num_classes", "status"):
        value = checked.get(key)
        if value is None:
            checked.pop(key, None)   # null: not measured, as if absent
            continue
        if key == "status":
            wrong = not isinstance(value, str)
        elif key == "num_classes":
            wrong = _positive_int(value, MAX_CLASSES) is None
        else:
            wrong = _real(value) is None
        if wrong:
            damage.append(_damaged(path, f"{key} is {_shown(value)}, not {'text' if key == 'status' else 'a finite number'}"))
            del checked[key]
    return checked


def _load_evaluation(run: Run, damage: list[str]) -> dict:
    try:
        raw = read_evaluation(run)
    except GenlabError as error:
        damage.append(_one_line(error))
        return {}
    return _checked_evaluation(raw, run.path / EVALUATION_FILE, damage)


def _checked_evaluation(raw: dict, path: Path, damage: list[str]) -> dict:
    """evaluation.json's values that have the expected types; each that has not is one damage line."""
    checked = {}
    for key, most in (("count", None), ("num_classes", MAX_CLASSES)):
        if key in raw:
            if _positive_int(raw[key], most) is None:
                damage.append(_damaged(path, f"{key} is {_shown(raw[key])}, not a positive whole number"))
            else:
                checked[key] = raw[key]
    rows = raw.get("rows", {})
    if not isinstance(rows, dict):
        damage.append(_damaged(path, "rows is not an object"))
        rows = {}
    checked_rows = {}
    for name, row in rows.items():
        if not isinstance(row, dict):
            damage.append(_damaged(path, f"row {_shown(name)} is not an object"))
            continue
        checked_rows[name] = _checked_row(row, name, path, damage)
    if checked_rows:
        checked["rows"] = checked_rows
    return checked


def _checked_row(row: dict, name: str, path: Path, damage: list[str]) -> dict:
    checked = {}
    for key, _, _ in SAMPLE_COLUMNS:
        value = row.get(key)
        if value is not None and _real(value) is None:
            damage.append(_damaged(path, f"row {_shown(name)} has {key} {_shown(value)}, not a finite number"))
        elif value is not None:
            checked[key] = value
    return checked


@dataclass
class _Loaded:
    """One run's files as the page shows them, each read once; `damage` has one line per damaged file or value."""
    run: Run
    family: str = "?"
    header: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)      # metrics.json as read: all its numbers are listed
    checked: dict = field(default_factory=dict)      # ...less the values of the wrong type
    evaluation: dict = field(default_factory=dict)   # evaluation.json, checked
    damage: list[str] = field(default_factory=list)


def _load(run: Run) -> _Loaded:
    loaded = _Loaded(run)
    loaded.family, loaded.header = _load_header(run, loaded.damage)
    loaded.metrics, loaded.checked = _load_metrics(run, loaded.damage)
    loaded.evaluation = _load_evaluation(run, loaded.damage)
    return loaded


def _open_all(run_paths: list[str | Path]) -> list[_Loaded | GenlabError]:
    """Every run loaded, or the error opening it (shown in its place). Only when no path is a run
    is there nothing to show: then the first error is raised, one line, as for a single run."""
    items: list[_Loaded | GenlabError] = []
    for path in run_paths:
        try:
            items.append(_load(Run.open(path)))
        except GenlabError as error:
            items.append(error)
    if all(isinstance(item, GenlabError) for item in items):
        raise items[0]
    return items


# ---------------------------------------------------------------------------- headline numbers
def headline(family: str, metrics: dict, evaluation: dict | None = None) -> list[tuple[str, str, str]]:
    """A program's headline numbers as (quantity, value, what to compare it with) strings.

    Shared by the report and `run chapter`'s closing table, so both say the same thing. The
    report passes metrics and evaluation checked (_checked_metrics, _checked_evaluation).
    """
    evaluation = evaluation or {}
    lines: list[tuple[str, str, str]] = []
    if "test_accuracy" in metrics:
        classes = metrics.get("num_classes", evaluation.get("num_classes", 10))
        lines.append(("test accuracy", f"{metrics['test_accuracy']:.4f}", f"chance {1 / classes:.2f}"))
    if "test_mse" in metrics:
        against = []
        if "noisy_mse" in metrics:
            against.append(f"noisy input {metrics['noisy_mse']:.4f}")
        if "baseline_mean_mse" in metrics:
            against.append(f"per-pixel mean image {metrics['baseline_mean_mse']:.4f}")
        lines.append(("test MSE" + (" (denoised)" if "noisy_mse" in metrics else ""), f"{metrics['test_mse']:.4f}",
                      ", ".join(against)))
    if "sample_fid" in metrics:
        # A reference row without its FID (dropped as damaged by the report) is left out, not a KeyError.
        references = {name: row for name, row in evaluation.get("rows", {}).items()
                      if name in REFERENCE_ROWS and row.get("fid") is not None}
        fid_against = ", ".join(f"{REFERENCE_ROWS[name]} {row['fid']:.3g}" for name, row in references.items())
        lines.append(("FID ↓", f"{metrics['sample_fid']:.3g}", fid_against))
    if "sample_class_coverage" in metrics:
        classes = evaluation.get("num_classes", 10)
        hit = round(metrics["sample_class_coverage"] * classes)
        lines.append(("class coverage", f"{metrics['sample_class_coverage']:.2f} ({hit} of {classes} classes)",
                      "real images 1.00"))
    return lines


# Reference rows of evaluation.json, under the short names the headline uses.
REFERENCE_ROWS = {"real training images": "real images", "per-pixel mean image": "per-pixel mean image"}


def _headline_table(family: str, metrics: dict, evaluation: dict) -> str:
    parts = []
    lines = [line for line in headline(family, metrics, evaluation) if not line[0].startswith(("FID", "class coverage"))]
    if lines:
        parts.append('<table class="headline"><tr><th>headline</th><th>value</th><th>compared with</th></tr>'
                     + "".join(f'<tr><td>{_esc(quantity)}</td><td class="value">{_esc(value)}</td>'
                               f"<td>{_esc(against)}</td></tr>" for quantity, value, against in lines)
                     + "</table>")
    head = "".join(f"<th>{_esc(label)}</th>" for _, label, _ in SAMPLE_COLUMNS)
    rows = evaluation.get("rows")
    if rows:
        # The run's samples first, then the best a model can hope for, then the average image.
        order = [name for name in rows if name not in REFERENCE_ROWS] + [name for name in REFERENCE_ROWS if name in rows]
        body = "".join(f'<tr class="{"reference" if name in REFERENCE_ROWS else "model"}"><td>{_esc(name)}</td>'
                       + "".join(f"<td>{_number(rows[name].get(key), spec)}</td>" for key, _, spec in SAMPLE_COLUMNS) + "</tr>"
                       for name in order)
        parts.append(f'<table class="headline samples"><tr><th>images</th>{head}</tr>{body}</table>'
                     f'<p class="note">{_esc(evaluation.get("count") or "the")} samples scored by the shipped evaluator '
                     "against the test set; the real training images are the best a model can hope for, the per-pixel "
                     "mean image (one image repeated) is what a model that learnt only the average would score. "
                     "Class coverage: share of classes holding at least 1% of the samples.</p>")
    elif "sample_fid" in metrics:
        parts.append(f'<table class="headline samples"><tr><th>images</th>{head}</tr><tr><td>samples</td>'
                     + "".join(f"<td>{_number(metrics.get('sample_' + key), spec)}</td>" for key, _, spec in SAMPLE_COLUMNS)
                     + "</tr></table>")
    return "".join(parts)


# ---------------------------------------------------------------------------- figures
def _figures(run: Run) -> list[Path]:
    folder = run.figures
    try:
        entries = list(folder.iterdir()) if folder.is_dir() else []
    except OSError:
        return []
    # Not filtered on is_file(): what is not a regular file gets its note (_read_inside) rather than
    # vanishing. Names starting with "." are an interrupted write's temporary files (genlab.io).
    present = {path.name: path for path in entries if path.suffix in (".png", ".gif") and not path.name.startswith(".")}
    ordered = [present.pop(name) for name in FIGURE_ORDER if name in present]
    return ordered + [present[name] for name in sorted(present)]


def _last(folder: Path) -> Path | None:
    steps = sorted(folder.glob("step-*.png")) if folder.is_dir() else []
    return steps[-1] if steps else None


def chapter_figure(run: Run, family: str) -> tuple[Path, str] | None:
    """The figure the chapter shows for this program, with its caption; None if the run has none."""
    showcase = _showcase(family)
    if showcase is not None:
        name, caption = showcase
        path = run.figures / name
        return (path, caption) if path.is_file() else None
    samples = run.figures / "samples.png"
    if samples.is_file():
        return samples, SAMPLES_CAPTION
    last_grid = _last(run.figures / "samples")   # a GAN trained alone: its last fixed-noise grid
    if last_grid is not None:
        return last_grid, f"the fixed-noise grid at {last_grid.stem.replace('-', ' ').lstrip('0')}"
    return None


def _figure_html(run: Run, path: Path, caption: str, css_class: str, image_class: str = "") -> str:
    """The figure embedded as a data URI, or one line saying why it is not (never an error)."""
    try:
        data = _read_inside(run, path, MAX_FIGURE_BYTES)
    except _Refused as refused:
        return f'<p class="damage">figure {_esc(path.relative_to(run.path))} {_esc(refused)}</p>'
    kind = "image/gif" if path.suffix == ".gif" else "image/png"
    source = f"data:{kind};base64," + base64.b64encode(data).decode("ascii")
    image = f' class="{image_class}"' if image_class else ""
    return (f'<figure class="{css_class}"><img{image} src="{source}" alt="{_esc(path.name)}">'
            f"<figcaption>{_esc(caption)}</figcaption></figure>")


def _figures_html(run: Run, family: str) -> str:
    if os.path.lexists(run.figures) and not _inside(run, run.figures):
        # Not even listed: the names of files elsewhere are no business of the page either.
        return '<p class="damage">figures/ skipped: it points outside the run folder</p>'
    parts = []
    chosen = chapter_figure(run, family)
    if chosen is not None:
        path, caption = chosen
        # Sample grids are square: shown at a readable size, not stretched across the page.
        parts.append(_figure_html(run, path, caption, "chapter", "" if _showcase(family) is not None else "square"))
    # The denoising figure already holds the reconstructions row: not shown twice.
    shown = set()
    if chosen is not None:
        shown.add(chosen[0])
        if chosen[0].name == "denoising.png":
            shown.add(run.figures / "reconstructions.png")
    others = [path for path in _figures(run) if path not in shown]
    strip = _last(run.figures / "strips")
    if strip is not None:
        others.append(strip)
    if others:
        parts.append('<h3>more figures</h3><div class="figures">')
        for path in others:
            size = "wide" if path.name in ("reconstructions.png", "denoising.png") else "small"
            caption = CAPTIONS["strip.png"] if path == strip else CAPTIONS.get(path.name, path.name)
            parts.append(_figure_html(run, path, caption, size))
        parts.append("</div>")
    return "".join(parts)


# ---------------------------------------------------------------------------- one run
def _run_section(loaded: _Loaded, index: int) -> str:
    run, header, metrics = loaded.run, loaded.header, loaded.checked
    status = metrics.get("status", "unknown")
    title = program_name(loaded.family)
    heading = (f'<section id="run{index}"><h2>{_esc(title)} '
               f'<small>({_esc(run.path.name)}, preset {_esc(header.get("preset", "?"))})</small></h2>')
    status_line = (f'<p class="note">status: <span class="status-{status if status in ("complete", "failed") else "other"}">'
                   f'{_esc(status)}</span> · {_esc(metrics.get("dataset", "?"))} · folder <code>{_esc(run.path)}</code></p>')
    damage = "".join(f'<p class="damage">⚠ {_esc(line)}</p>' for line in loaded.damage)
    return (heading + status_line + damage + _headline_table(loaded.family, metrics, loaded.evaluation)
            + _figures_html(run, loaded.family) + _folded_tables(loaded.metrics, header.get("config", {})) + "</section>")


def _folded_tables(metrics: dict, config: dict) -> str:
    """Every number of metrics.json (as read: a value the headline refused still shows here), and the config."""
    numbers = [(key, value) for key, value in sorted(metrics.items())
               if isinstance(value, (int, float)) and not isinstance(value, bool)]
    return (f"<details><summary>all metrics ({len(numbers)})</summary><table><tr><th>metric</th><th>value</th></tr>"
            + "".join(f"<tr><td>{_esc(key)}</td><td>{_format(value)}</td></tr>" for key, value in numbers)
            + "</table></details><details><summary>config</summary><table><tr><th>key</th><th>value</th></tr>"
            + "".join(f"<tr><td>{_esc(key)}</td><td>{_format(value)}</td></tr>" for key, value in config.items())
            + "</table></details>")


def _unopened_section(error: GenlabError, index: int) -> str:
    return (f'<section id="run{index}"><h2>not a run</h2>'
            f'<p class="damage">⚠ {_esc(_one_line(error))}</p></section>')


# ---------------------------------------------------------------------------- overview
def _overview(items: list[_Loaded | GenlabError]) -> str:
    """Every run's headline numbers in one table, then (folded) the raw numbers side by side."""
    rows = []
    for index, loaded in enumerate(items):
        if not isinstance(loaded, _Loaded):
            continue
        lines = headline(loaded.family, loaded.checked, loaded.evaluation) or [("–", "–", "")]
        name = program_name(loaded.family)
        for position, (quantity, value, against) in enumerate(lines):
            first = (f'<td rowspan="{len(lines)}"><a href="#run{index}">{_esc(name)}</a></td>'
                     if position == 0 else "")
            seconds = (f'<td rowspan="{len(lines)}">{_number(loaded.checked.get("train_wall_s"), ".0f")}</td>'
                       if position == 0 else "")
            rows.append(f'<tr>{first}<td>{_esc(quantity)}</td><td class="value">{_esc(value)}</td>'
                        f"<td>{_esc(against)}</td>{seconds}</tr>")
    table = ('<table class="headline"><tr><th>program</th><th>headline</th><th>value</th><th>compared with</th>'
             f'<th>train s</th></tr>{"".join(rows)}</table>')
    return f"<section><h2>at a glance</h2>{table}{_comparison(items)}</section>"


def _comparison(items: list[_Loaded | GenlabError]) -> str:
    loaded = [(index, item) for index, item in enumerate(items) if isinstance(item, _Loaded)]
    keys = [key for key in HEADLINE if any(key in item.checked for _, item in loaded)]
    if not keys:
        return ""
    # "sample_fid" -> "fid": the sample_ prefix only says where metrics.json keeps it.
    head = "".join(f"<th>{_esc(key.removeprefix('sample_'))}</th>" for key in keys)
    rows = "".join(f'<tr><td><a href="#run{index}">{_esc(item.run.path.name)}</a></td>'
                   + "".join(f"<td>{_format(item.checked[key]) if key in item.checked else '–'}</td>" for key in keys)
                   + "</tr>" for index, item in loaded)
    return (f'<details><summary>side by side: the raw numbers</summary><div class="scroll"><table><tr><th>run</th>{head}</tr>'
            f"{rows}</table></div></details>")


def build(run_paths: list[str | Path], out: str | Path, title: str = "genlab report", subtitle: str | None = None) -> Path:
    from genlab import __version__

    items = _open_all(run_paths)
    body = (_overview(items) if len(items) > 1 else "") + "".join(
        _run_section(item, index) if isinstance(item, _Loaded) else _unopened_section(item, index)
        for index, item in enumerate(items))
    line = _esc(subtitle) + " · " if subtitle else ""
    # The generator tag marks the page as genlab's: `genlab report` may replace it without --force.
    page = (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">{outputs.html_meta()}<title>{_esc(title)}</title>"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><style>{STYLE}</style></head><body>"
            f"<header><h1>{_esc(title)}</h1><p>{line}genlab {_esc(__version__)} · {len(items)} run(s)</p></header>"
            f"<main>{body}</main><script>{IMAGE_CHECK}</script></body></html>")
    out = Path(out)
    io.write_text(out, page)
    return out
