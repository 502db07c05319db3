"""`genlab run chapter`: the whole chapter end to end, with the chapter's recipes.

classifier -> ae -> dae -> gan, each trained with its `chapter` preset into one folder,
each generative run scored by the shipped evaluator, and one HTML report over all four.
`--quick` shortens every recipe (same networks, far fewer epochs/steps) so the whole thing
takes a couple of minutes: it is CI's smoke test, not a result.
"""
from __future__ import annotations

import datetime as _dt
import time
from pathlib import Path

QUICK = {
    "classifier": {"epochs": 1},
    "ae": {"epochs": 2},
    "dae": {"epochs": 2},
    "gan": {"steps": 40, "sample_every": 20, "checkpoint_every": 20, "log_every": 5},
}


def run_chapter(out: str | Path | None = None, quick: bool = False, data_dir=None, dataset: str = "mnist",
                samples: int | None = None, verbose: int = 0) -> Path:
    from genlab import api, report_html
    from genlab.console import table

    root = Path(out) if out else Path("runs") / f"chapter-{_dt.datetime.now():%Y%m%d-%H%M%S}"
    root.mkdir(parents=True, exist_ok=True)
    count = samples or (1000 if quick else 10000)
    rows, paths = [], []
    for family in ("classifier", "ae", "dae", "gan"):
        overrides = {"dataset": dataset, **(QUICK[family] if quick else {})}
        print(f"== {family} (chapter preset{', quick' if quick else ''})", flush=True)
        started = time.perf_counter()
        run = api.train(family, preset="chapter", overrides=overrides, out=root / family, data_dir=data_dir,
                        verbose=verbose, print_summary=False)
        if family != "classifier":
            evaluation = api.evaluate(run.path, count=count, reference=family == "gan", data_dir=data_dir)
            print(evaluation.table())
        metrics = run.read_metrics()
        rows.append([family, metrics.get("test_accuracy", metrics.get("test_mse", "-")), metrics.get("sample_fid", "-"),
                     metrics.get("sample_precision", "-"), metrics.get("sample_recall", "-"), time.perf_counter() - started])
        paths.append(run.path)
    page = report_html.build(paths, root / "report.html", title=f"genlab: the chapter{' (quick)' if quick else ''}")
    print(table(["program", "test acc / MSE", "FID", "precision", "recall", "wall s"], rows,
                title=f"the chapter on {dataset}: {root}"))
    print(f"report: {page}")
    return page
