"""`genlab report RUN...`: one self-contained HTML page (images embedded as data URIs) for one
run or several side by side: a comparison table, then per run its config, metrics and figures."""
from __future__ import annotations

import base64
import html
from pathlib import Path

from genlab import io
from genlab.runs import Run

# Figures in reading order; anything else in figures/ follows alphabetically.
FIGURE_ORDER = ("reconstructions.png", "denoising.png", "samples.png", "progress.gif", "losses.png", "curves.png",
                "latent.png", "confusion_matrix.png", "misclassified.png", "untrained.png")
HEADLINE = ("test_accuracy", "test_mse", "test_psnr_db", "test_ssim", "noisy_mse", "sample_fid", "sample_kid",
            "sample_precision", "sample_recall", "sample_classifier_score", "sample_class_coverage", "seconds_per_epoch",
            "seconds_per_step", "train_wall_s")

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;background:#f6f7f9;color:#1d232b}
header{background:#1d3557;color:#fff;padding:18px 32px}header h1{margin:0;font-size:22px}
header p{margin:4px 0 0;opacity:.8;font-size:13px}main{padding:16px 32px 48px}
section{background:#fff;border-radius:10px;box-shadow:0 1px 3px rgba(0,0,0,.08);padding:16px 22px;margin:18px 0}
h2{font-size:18px;margin:0 0 6px}h3{font-size:14px;margin:18px 0 6px;color:#45556a}
table{border-collapse:collapse;font-size:13px;margin:6px 0}td,th{padding:4px 10px;border-bottom:1px solid #e4e7eb;text-align:right}
th{background:#eef1f5;text-align:center}td:first-child,th:first-child{text-align:left}
.status-complete{color:#2a7d3f;font-weight:600}.status-failed{color:#b3261e;font-weight:600}
.figures{display:flex;flex-wrap:wrap;gap:14px}figure{margin:0;background:#fafbfc;border:1px solid #e4e7eb;border-radius:8px;padding:8px}
figure img{max-width:100%;height:auto;display:block}figcaption{font-size:12px;color:#5a6675;margin-top:4px}
.wide img{max-width:1100px}.small img{max-width:420px}code{font-size:12px}
details summary{cursor:pointer;color:#45556a;font-size:13px}
.scroll{overflow-x:auto}td:first-child{white-space:nowrap}
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


def _figures(run: Run) -> list[Path]:
    folder = run.figures
    if not folder.is_dir():
        return []
    present = {path.name: path for path in folder.iterdir() if path.is_file() and path.suffix in (".png", ".gif")}
    ordered = [present.pop(name) for name in FIGURE_ORDER if name in present]
    return ordered + [present[name] for name in sorted(present)]


def _run_section(run: Run, index: int) -> str:
    header = run.read_header()
    metrics = run.read_metrics()
    status = metrics.get("status", "unknown")
    parts = [f'<section id="run{index}"><h2>{html.escape(run.path.name)} '
             f'<small>({html.escape(header.get("family", "?"))}, preset {html.escape(str(header.get("preset", "?")))})</small></h2>',
             f'<p>status: <span class="status-{html.escape(status)}">{html.escape(status)}</span> · folder <code>{html.escape(str(run.path))}</code></p>']
    numbers = [(key, value) for key, value in sorted(metrics.items()) if isinstance(value, (int, float)) and not isinstance(value, bool)]
    parts.append("<h3>metrics</h3><table><tr><th>metric</th><th>value</th></tr>"
                 + "".join(f"<tr><td>{html.escape(key)}</td><td>{_format(value)}</td></tr>" for key, value in numbers) + "</table>")
    config = header.get("config", {})
    parts.append("<details><summary>config</summary><table><tr><th>key</th><th>value</th></tr>"
                 + "".join(f"<tr><td>{html.escape(key)}</td><td>{_format(value)}</td></tr>" for key, value in config.items())
                 + "</table></details>")
    figures = _figures(run)
    if figures:
        parts.append('<h3>figures</h3><div class="figures">')
        for path in figures:
            size = "wide" if path.name in ("reconstructions.png", "denoising.png") else "small"
            parts.append(f'<figure class="{size}"><img src="{_data_uri(path)}" alt="{html.escape(path.name)}">'
                         f"<figcaption>{html.escape(path.name)}</figcaption></figure>")
        parts.append("</div>")
    parts.append("</section>")
    return "".join(parts)


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
    return f'<section><h2>side by side</h2><div class="scroll"><table><tr><th>run</th>{head}</tr>{rows}</table></div></section>'


def build(run_paths: list[str | Path], out: str | Path, title: str = "genlab report") -> Path:
    from genlab import __version__

    runs = [Run.open(path) for path in run_paths]
    body = (_comparison(runs) if len(runs) > 1 else "") + "".join(_run_section(run, index) for index, run in enumerate(runs))
    page = (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><style>{STYLE}</style></head><body>"
            f"<header><h1>{html.escape(title)}</h1><p>genlab {__version__} · {len(runs)} run(s)</p></header><main>{body}</main>"
            f"<script>{IMAGE_CHECK}</script></body></html>")
    out = Path(out)
    io.write_text(out, page)
    return out
