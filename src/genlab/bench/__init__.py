"""`genlab bench WHAT`: the dispatch. Each benchmark lives in a module of its own:

    recipes    the chapter's programs (gan, ae, dae, classifier: genlab's recipes against the
               reference script), limit (this machine's GFLOP/s), evaluate (scoring 10000 samples)
    FAMILY     a family's own speed benchmark (Family.benchmark: diffusion's step and samplers)
    quality    quality (time to the textbook GAN's final FID) and chapter (genlab run chapter
               against the reference's four recipes)
    backends   backends (every family's training step on every installed backend, one
               subprocess each: `python -m genlab.bench.worker`)
    explore    explore (the explorer under N clients at once: p50/p95 latency, images per second)

The output files are checked here, before minutes of measuring; the results (with the machine's
core count) are written to --json at the end.
"""
from __future__ import annotations

import os
from pathlib import Path

from genlab import chapter, families
from genlab.bench import recipes
from genlab.errors import GenlabError

def main(args) -> dict:
    """Run the benchmark `args.what` with the CLI's arguments; returns (and writes to --json) its results."""
    from genlab import outputs

    # The output files are checked before minutes of measuring, not after.
    force = getattr(args, "force", False)
    json_target = outputs.file_target(args.json, force=force, option="--json", suffixes=(".json",)) if args.json else None
    if args.what == "quality":
        outputs.file_target(args.figure or (str(Path(args.json).with_suffix(".png")) if args.json else "bench-quality.png"),
                            force=force, option="--figure", suffixes=(".png",))
    if args.what == "evaluate":
        results = recipes.bench_evaluate(args)
    elif args.what == "explore":
        from genlab.bench import explore

        results = explore.bench_explore(clients=args.clients, requests=args.requests)
    elif args.what == "limit":
        results = recipes.bench_limit(args)
    elif args.what == "backends":
        from genlab.bench import backends

        results = backends.bench_backends(args)
    elif args.what in ("quality", "chapter"):
        from genlab.bench import quality

        if args.what == "chapter":
            results = quality.bench_chapter(reference=args.reference, data_dir=args.data_dir,
                                            backend=getattr(args, "backend", None))
        else:
            figure = args.figure or (str(Path(args.json).with_suffix(".png")) if args.json else "bench-quality.png")
            results = quality.bench_quality(reference=args.reference, data_dir=args.data_dir, steps=args.steps or 2000,
                                            every=args.every, samples=args.samples, recipes=args.recipes,
                                            bf16=args.bf16, figure=figure)
    elif args.what in chapter.PROGRAMS:
        # The chapter's programs against the textbook loop: the step-trained one (the GAN) step by step.
        results = recipes.bench_gan(args) if families.get(args.what).unit == "steps" else recipes.bench_fit(args, args.what)
    else:
        family = families.get(args.what)
        if family.benchmark is None:
            raise GenlabError(f"genlab bench has no benchmark '{args.what}'; see genlab bench --help")
        results = family.benchmark(data_dir=args.data_dir, steps=getattr(args, "steps", None))
    results = {"what": args.what, "machine_cores": os.cpu_count(), **results}
    if json_target is not None:
        from genlab import io

        outputs.prepare_parent(json_target, "--json")
        io.write_json(json_target, results)
    return results
