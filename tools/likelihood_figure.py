"""docs/likelihood/bits-against-time.png: test bits/dim against training time, one point per run.

    python tools/likelihood_figure.py RUN[=LIKELIHOOD.json] ... --out docs/likelihood/bits-against-time.png

Each RUN is a finished run folder; its bits/dim is metrics.json's test_bits_per_dim (families that
score their test set while training) or, after `=`, the JSON that `genlab likelihood RUN --json F`
wrote. The x axis is the run's train_wall_s; the reference lines are the uniform model (8.00, off
the top) and independent pixels fitted on the training set.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path


def point(spec: str) -> dict:
    run, _, scored = spec.partition("=")
    metrics = json.loads((Path(run) / "metrics.json").read_text())
    if scored:
        result = json.loads(Path(scored).read_text())
        bits, bound = result["bits_per_dim"], result["bound"]
    else:
        bits, bound = metrics["test_bits_per_dim"], metrics.get("likelihood_bound", "exact")
    return {"family": metrics["family"], "seconds": metrics["train_wall_s"], "bits": bits, "bound": bound}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+")
    parser.add_argument("--independent", type=float, default=1.6888, help="independent pixels' bits/dim (reference line)")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = [point(spec) for spec in args.runs]
    figure, axis = plt.subplots(figsize=(7, 4.2))
    for number, family in enumerate(sorted({p["family"] for p in points})):
        mine = sorted((p for p in points if p["family"] == family), key=lambda p: p["seconds"])
        axis.plot([p["seconds"] for p in mine], [p["bits"] for p in mine], marker="os^D"[number % 4], linestyle="-",
                  label=f"{family} ({mine[0]['bound']})")
        for p in mine:
            axis.annotate(f"{p['bits']:.3f}", (p["seconds"], p["bits"]), textcoords="offset points", xytext=(5, 5), fontsize=8)
    axis.axhline(args.independent, color="grey", linestyle="--", linewidth=1)
    axis.text(0.99, args.independent, f"independent pixels {args.independent:.3f}", va="bottom", ha="right", fontsize=8,
              color="grey", transform=axis.get_yaxis_transform())
    axis.set_xscale("log")
    axis.set_xlabel("training time (s, 2 CPU cores)")
    axis.set_ylabel("test bits/dim (lower is better)")
    axis.set_title("MNIST test set: bits/dim against training time")
    axis.legend(fontsize=8)
    axis.grid(alpha=0.3)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
