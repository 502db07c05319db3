"""One backend's side of `genlab bench backends`, run as `python -m genlab.bench.worker`.

Keras picks its backend once per process, so the parent (genlab.bench.backends) starts one of
these per backend. It times each family in turn and rewrites --json after each one (atomic),
so a worker stopped by the parent's timeout still leaves the families it finished. A family the
backend refuses (a GenlabError, e.g. diffusion on jax) gets {"skipped": reason}; any other
failure {"error": its first line}, and the next family runs.
"""
from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m genlab.bench.worker")
    parser.add_argument("--backend", required=True)
    parser.add_argument("--families", required=True, help="comma-separated family names")
    parser.add_argument("--steps", type=int, required=True)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--json", required=True)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--set", dest="sets", action="append", default=[])
    args = parser.parse_args(argv)

    from genlab import backend
    from genlab.console import setup_logging
    from genlab.errors import GenlabError

    setup_logging(verbose=True)
    backend.configure(args.backend)   # before anything imports keras
    from genlab import config, io
    from genlab.bench import backends

    import logging

    log = logging.getLogger("genlab.bench")
    overrides = config.parse_sets(args.sets)
    result = {"backend": args.backend, "families": {}}
    for family in [name for name in args.families.split(",") if name]:
        try:
            record = backends.measure(family, steps=args.steps, warmup=args.warmup, data_dir=args.data_dir,
                                     overrides=overrides)
            log.info(f"bench backends: {args.backend} {family}: {record['seconds_per_step']:.4f} s/step "
                     f"(first call {record['first_call_s']:.2f} s)")
        except GenlabError as error:
            record = {"family": family, "backend": args.backend, "skipped": str(error)}
        except Exception as error:   # a backend's own failure: recorded, and the next family runs
            line = (str(error).strip().splitlines() or [""])[0][:200]
            record = {"family": family, "backend": args.backend, "error": f"{type(error).__name__}: {line}"}
            log.warning(f"bench backends: {args.backend} {family} failed: {record['error']}")
        result["families"][family] = record
        io.write_json(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
