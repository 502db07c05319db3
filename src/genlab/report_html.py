"""`genlab report RUN...`: one self-contained HTML page (images embedded as data URIs).

The page reads like the chapter: a table of every program's headline numbers, then per run its
headline numbers against their baselines (accuracy against chance; MSE against the per-pixel
mean image; FID and class coverage beside the two reference rows), its chapter figure first,
the other figures after it, and the full metric list and config folded away.
"""
from __future__ import annotations

import base64
import html
import json
from pathlib import Path

from genlab import io
from genlab.runs import Run

# Written beside metrics.json by `genlab run chapter`: the sample-quality rows (the run's samples
# and the two reference rows), which metrics.json alone does not keep.
EVALUATION_FILE = "evaluation.json"

PROGRAM_NAMES = {"classifier": "program 1 · classifier (functional API)", "ae": "program 2 · autoencoder",
                 "dae": "program 3 · denoising autoencoder", "gan": "program 4 · GAN"}
GENERATIVE_SAMPLERS = ("gan", "cgan", "wgan-gp")

# The figure the chapter shows for each program, and what it says.
CHAPTER_FIGURES = {
    "classifier": ("curves.png", "loss (left axis) and accuracy (right axis, dashed) per epoch, training and validation"),
    "ae": ("reconstructions.png", "test digits (top) and the autoencoder's reconstructions (bottom)"),
    "dae": ("denoising.png", "noisy test digits, the denoiser's output, and the clean originals"),
    "vae": ("reconstructions.png", "test digits (top) and the VAE's reconstructions (bottom)"),
}
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
"""


# Records how many embedded images the browser actually decoded (used by the tests, harmless otherwise).
IMAGE_CHECK = ("window.addEventListener('load',function(){var i=document.images,n=0;"
               "for(var k=0;k<i.length;k++){if(i[k].complete&&i[k].naturalWidth>0)n++;}"
               "document.body.setAttribute('data-images-total',i.length);document.body.setAttribute('data-images-shown',n);});")


def _data_uri(path: Path) -> str:
    kind = "image/gif" if path.suffix == ".gif" else "image/png"
    return f"data:{kind};base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _format(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e4 else f"{value:.0f}"
    return html.escape(str(value))


def _number(value, spec: str = ".4g") -> str:
    return format(value, spec) if isinstance(value, (int, float)) else "–"


# ---------------------------------------------------------------------------- headline numbers
def read_evaluation(run: Run) -> dict:
    """RUN/evaluation.json: {"rows": {name: metrics}, "count": N, "num_classes": K}, or {} if absent."""
    path = run.path / EVALUATION_FILE
    if not path.is_file():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


def headline(family: str, metrics: dict, evaluation: dict | None = None) -> list[tuple[str, str, str]]:
    """A program's headline numbers as (quantity, value, what to compare it with) strings.

    Shared by the report and `run chapter`'s closing table, so both say the same thing.
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
        references = {name: row for name, row in evaluation.get("rows", {}).items() if name in REFERENCE_ROWS}
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


def _headline_table(run: Run, family: str, metrics: dict, evaluation: dict) -> str:
    parts = []
    lines = [line for line in headline(family, metrics, evaluation) if not line[0].startswith(("FID", "class coverage"))]
    if lines:
        parts.append('<table class="headline"><tr><th>headline</th><th>value</th><th>compared with</th></tr>'
                     + "".join(f'<tr><td>{html.escape(quantity)}</td><td class="value">{html.escape(value)}</td>'
                               f"<td>{html.escape(against)}</td></tr>" for quantity, value, against in lines)
                     + "</table>")
    rows = evaluation.get("rows")
    if rows:
        head = "".join(f"<th>{html.escape(label)}</th>" for _, label, _ in SAMPLE_COLUMNS)
        # The run's samples first, then the best a model can hope for, then the average image.
        order = [name for name in rows if name not in REFERENCE_ROWS] + [name for name in REFERENCE_ROWS if name in rows]
        body = "".join(f'<tr class="{"reference" if name in REFERENCE_ROWS else "model"}"><td>{html.escape(name)}</td>'
                       + "".join(f"<td>{_number(rows[name].get(key), spec)}</td>" for key, _, spec in SAMPLE_COLUMNS) + "</tr>"
                       for name in order)
        count = evaluation.get("count")
        parts.append(f'<table class="headline samples"><tr><th>images</th>{head}</tr>{body}</table>'
                     f'<p class="note">{count or "the"} samples scored by the shipped evaluator against the test set; '
                     "the real training images are the best a model can hope for, the per-pixel mean image "
                     "(one image repeated) is what a model that learnt only the average would score. "
                     "Class coverage: share of classes holding at least 1% of the samples.</p>")
    elif "sample_fid" in metrics:
        parts.append('<table class="headline samples"><tr><th>images</th>' + "".join(f"<th>{html.escape(label)}</th>" for _, label, _ in SAMPLE_COLUMNS)
                     + "</tr><tr><td>samples</td>" + "".join(f"<td>{_number(metrics.get('sample_' + key), spec)}</td>" for key, _, spec in SAMPLE_COLUMNS)
                     + "</tr></table>")
    return "".join(parts)


# ---------------------------------------------------------------------------- figures
def _figures(run: Run) -> list[Path]:
    folder = run.figures
    if not folder.is_dir():
        return []
    present = {path.name: path for path in folder.iterdir() if path.is_file() and path.suffix in (".png", ".gif")}
    ordered = [present.pop(name) for name in FIGURE_ORDER if name in present]
    return ordered + [present[name] for name in sorted(present)]


def _last(folder: Path) -> Path | None:
    steps = sorted(folder.glob("step-*.png")) if folder.is_dir() else []
    return steps[-1] if steps else None


def chapter_figure(run: Run, family: str) -> tuple[Path, str] | None:
    """The figure the chapter shows for this program, with its caption; None if the run has none."""
    if family in CHAPTER_FIGURES:
        name, caption = CHAPTER_FIGURES[family]
        path = run.figures / name
        return (path, caption) if path.is_file() else None
    samples = run.figures / "samples.png"
    if samples.is_file():
        return samples, SAMPLES_CAPTION
    last_grid = _last(run.figures / "samples")   # a GAN trained alone: its last fixed-noise grid
    if last_grid is not None:
        return last_grid, f"the fixed-noise grid at {last_grid.stem.replace('-', ' ').lstrip('0')}"
    return None


def _figure_html(path: Path, caption: str, css_class: str, image_class: str = "") -> str:
    image = f' class="{image_class}"' if image_class else ""
    return (f'<figure class="{css_class}"><img{image} src="{_data_uri(path)}" alt="{html.escape(path.name)}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def _run_section(run: Run, index: int) -> str:
    header = run.read_header()
    family = header.get("family", "?")
    metrics = run.read_metrics()
    evaluation = read_evaluation(run)
    status = metrics.get("status", "unknown")
    title = PROGRAM_NAMES.get(family, family)
    parts = [f'<section id="run{index}"><h2>{html.escape(title)} '
             f'<small>({html.escape(run.path.name)}, preset {html.escape(str(header.get("preset", "?")))})</small></h2>',
             f'<p class="note">status: <span class="status-{html.escape(status)}">{html.escape(status)}</span>'
             f' · {html.escape(str(metrics.get("dataset", "?")))} · folder <code>{html.escape(str(run.path))}</code></p>',
             _headline_table(run, family, metrics, evaluation)]
    chosen = chapter_figure(run, family)
    if chosen is not None:
        path, caption = chosen
        # Sample grids are square: shown at a readable size, not stretched across the page.
        parts.append(_figure_html(path, caption, "chapter", "" if family in CHAPTER_FIGURES else "square"))
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
            parts.append(_figure_html(path, caption, size))
        parts.append("</div>")
    numbers = [(key, value) for key, value in sorted(metrics.items()) if isinstance(value, (int, float)) and not isinstance(value, bool)]
    parts.append(f"<details><summary>all metrics ({len(numbers)})</summary><table><tr><th>metric</th><th>value</th></tr>"
                 + "".join(f"<tr><td>{html.escape(key)}</td><td>{_format(value)}</td></tr>" for key, value in numbers)
                 + "</table></details>")
    config = header.get("config", {})
    parts.append("<details><summary>config</summary><table><tr><th>key</th><th>value</th></tr>"
                 + "".join(f"<tr><td>{html.escape(key)}</td><td>{_format(value)}</td></tr>" for key, value in config.items())
                 + "</table></details>")
    parts.append("</section>")
    return "".join(parts)


# ---------------------------------------------------------------------------- overview
def _overview(runs: list[Run]) -> str:
    """Every run's headline numbers in one table, then (folded) the raw numbers side by side."""
    rows = []
    for index, run in enumerate(runs):
        family = run.family_name
        metrics = run.read_metrics()
        lines = headline(family, metrics, read_evaluation(run)) or [("–", "–", "")]
        wall = metrics.get("train_wall_s")
        for position, (quantity, value, against) in enumerate(lines):
            first = (f'<td rowspan="{len(lines)}"><a href="#run{index}">{html.escape(PROGRAM_NAMES.get(family, family))}</a></td>'
                     if position == 0 else "")
            seconds = f'<td rowspan="{len(lines)}">{_number(wall, ".0f")}</td>' if position == 0 else ""
            rows.append(f'<tr>{first}<td>{html.escape(quantity)}</td><td class="value">{html.escape(value)}</td>'
                        f"<td>{html.escape(against)}</td>{seconds}</tr>")
    table = ('<table class="headline"><tr><th>program</th><th>headline</th><th>value</th><th>compared with</th>'
             f'<th>train s</th></tr>{"".join(rows)}</table>')
    return f"<section><h2>at a glance</h2>{table}{_comparison(runs)}</section>"


def _comparison(runs: list[Run]) -> str:
    metrics = [run.read_metrics() for run in runs]
    keys = [key for key in HEADLINE if any(key in entry for entry in metrics)]
    if not keys:
        return ""
    # "sample_fid" -> "fid": the sample_ prefix only says where metrics.json keeps it.
    head = "".join(f"<th>{html.escape(key.removeprefix('sample_'))}</th>" for key in keys)
    rows = "".join(f'<tr><td><a href="#run{index}">{html.escape(run.path.name)}</a></td>'
                   + "".join(f"<td>{_format(entry[key]) if key in entry else '–'}</td>" for key in keys) + "</tr>"
                   for index, (run, entry) in enumerate(zip(runs, metrics)))
    return (f'<details><summary>side by side: the raw numbers</summary><div class="scroll"><table><tr><th>run</th>{head}</tr>'
            f"{rows}</table></div></details>")


def build(run_paths: list[str | Path], out: str | Path, title: str = "genlab report", subtitle: str | None = None) -> Path:
    from genlab import __version__

    runs = [Run.open(path) for path in run_paths]
    body = (_overview(runs) if len(runs) > 1 else "") + "".join(_run_section(run, index) for index, run in enumerate(runs))
    line = html.escape(subtitle) + " · " if subtitle else ""
    page = (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><style>{STYLE}</style></head><body>"
            f"<header><h1>{html.escape(title)}</h1><p>{line}genlab {__version__} · {len(runs)} run(s)</p></header><main>{body}</main>"
            f"<script>{IMAGE_CHECK}</script></body></html>")
    out = Path(out)
    io.write_text(out, page)
    return out
