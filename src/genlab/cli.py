"""The `genlab` command line. Every user error ends as one line on stderr and exit status 2."""
from __future__ import annotations

import argparse
import shutil
import sys
import warnings
from pathlib import Path

from genlab import __version__
from genlab.errors import GenlabError

def _family_help() -> str:
    from genlab.families import names  # the registry imports no keras: --help stays fast

    return ", ".join(names())


def _add_backend(parser):
    parser.add_argument("--backend", choices=["tensorflow", "jax", "torch", "auto"], default=None,
                        help="Keras backend (default: $KERAS_BACKEND, else tensorflow); auto: the fastest for the "
                             "family on this device kind, as measured by genlab bench backends")


def _family_of(run: str | None) -> str | None:
    """The family of a run folder or pretrained:NAME, read without Keras (for --backend auto)."""
    import json

    if not run:
        return None
    try:
        if run.startswith("pretrained:"):
            from genlab import pretrained

            return pretrained.entry(run.split(":", 1)[1]).get("family")
        return json.loads((Path(run) / "metrics.json").read_text()).get("family")
    except Exception:   # unreadable here: Run.open reports it properly later; auto then uses the default
        return None


SAMPLER_EPILOG = ("A run's family may take sampler options, given as --NAME VALUE after the run (a diffusion "
                  "run's --steps 50, say); genlab config FAMILY lists each family's.")


def _sampler_options(args) -> dict:
    """The run's own sampler options from the arguments argparse left over, typed by the family's
    declaration (genlab.contract.SamplerOption). A --NAME VALUE pair the family does not declare
    goes to the API, which refuses it in one line naming what the family takes."""
    extra = list(getattr(args, "extra", []) or [])
    if not extra:
        return {}
    from genlab import families

    name = _family_of(args.run) if getattr(args, "run", None) else None
    declared = families.get(name).sampler_options if name in families.names() else ()
    parser = argparse.ArgumentParser(prog=f"genlab {args.command}", add_help=False)
    for option in declared:
        parser.add_argument(f"--{option.name.replace('_', '-')}", dest=option.name, type=option.kind,
                            choices=list(option.choices) or None, default=None)
    given, rest = parser.parse_known_args(extra)
    values = {key: value for key, value in vars(given).items() if value is not None}
    while rest:
        if len(rest) >= 2 and rest[0].startswith("--") and not rest[1].startswith("--"):
            values[rest[0][2:].replace("-", "_")] = rest[1]
            rest = rest[2:]
        else:
            raise GenlabError(f"unrecognized arguments: {' '.join(rest)}; see genlab {args.command} --help")
    return values


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="genlab",
        description="genlab: generative image models from the textbook chapter, trained, measured and explored.",
        epilog="Examples:\n"
               "  genlab run chapter --quick\n"
               "  genlab train classifier --preset chapter\n"
               "  genlab train gan --preset chapter --set steps=500\n"
               "  genlab sample runs/gan-20261122-101500 -n 64 --out grid.png\n"
               "  genlab datasets",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"genlab {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    train = commands.add_parser("train", help="train a model family into a run folder",
                                description="Train a model family. Config layers: defaults < --preset < --config < --set. "
                                            "Every key, its value and what it does: genlab config FAMILY [--preset P].")
    train.add_argument("family", help=f"model family ({_family_help()})")
    train.add_argument("--preset", default=None, help="'chapter' (the textbook exactly) or 'default' (genlab's recipe)")
    train.add_argument("--config", dest="config_file", default=None, help="TOML file of config keys")
    train.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                       help="override one config key (repeatable), e.g. --set epochs=5; keys: genlab config FAMILY")
    train.add_argument("--out", default=None, help="run folder (default: runs/<family>-<time>)")
    train.add_argument("--runs-dir", default=None, help="parent folder of new runs (default: runs)")
    train.add_argument("--data-dir", default=None, help="folder holding the dataset (default: $GENLAB_DATA_DIR, caches)")
    train.add_argument("--seed", type=int, default=None, help="random seed (makes runs repeatable)")
    train.add_argument("--resume", default=None, metavar="RUN", help="continue RUN from its last checkpoint")
    train.add_argument("--quiet", action="store_true", help="no progress bars")
    train.add_argument("--on-nan", choices=["stop", "rollback"], default=None,
                       help="GANs: on a NaN/Inf loss stop (default) or roll back to the last checkpoint with half the learning rate")
    _add_backend(train)
    train.add_argument("--devices", type=int, default=None, metavar="N",
                       help="data-parallel replicas (gan, cgan, wgan-gp): jax keras.distribution, tensorflow MirroredStrategy")
    train.add_argument("--coordinator", default=None, metavar="HOST:PORT",
                       help="multi-process jax: process 0's address (default: $KERAS_DISTRIBUTION_JOB_ADDRESSES)")
    train.add_argument("--num-processes", type=int, default=None, metavar="N", help="multi-process jax: how many processes")
    train.add_argument("--process-id", type=int, default=None, metavar="K", help="multi-process jax: this process (0 writes the run)")

    config = commands.add_parser("config", help="every config key of a family with its value and a description",
                                 description="Print every config key of FAMILY under a preset, with a one-line description.")
    config.add_argument("family", help=f"model family ({_family_help()})")
    config.add_argument("--preset", default=None, help="'chapter' or 'default' (default: default)")

    datasets = commands.add_parser("datasets", help="list datasets, where they were found, sizes and checksums")
    datasets.add_argument("--data-dir", default=None)

    info = commands.add_parser("info", help="versions, backend and devices")
    _add_backend(info)

    sample = commands.add_parser("sample", help="new images from a trained generative run", epilog=SAMPLER_EPILOG)
    sample.add_argument("run", help="run folder or pretrained:NAME (genlab pretrained lists them)")
    sample.add_argument("-n", "--count", type=int, default=64)
    sample.add_argument("--out", default=None, help="grid PNG (default: RUN/generated/samples-N-seedS.png; "
                                                    "at most 400 images are drawn, --npz holds them all)")
    sample.add_argument("--npz", default=None, help="also save the images (float32 in [0, 1]) to this .npz")
    sample.add_argument("--seed", type=int, default=0, help="random seed (default: 0, the same images each time)")
    sample.add_argument("--force", action="store_true", help="replace an existing file genlab did not write (never a run's own files, a folder or an input)")
    sample.add_argument("--class", dest="class_label", type=int, default=None,
                        help="conditional runs (cgan, diffusion with conditional=true): this class only")
    _add_backend(sample)

    interpolate = commands.add_parser("interpolate", help="a latent interpolation strip between two points")
    interpolate.add_argument("run", help="run folder or pretrained:NAME")
    interpolate.add_argument("a", nargs="?", type=int, default=None, help="test-set index of the first image (autoencoders)")
    interpolate.add_argument("b", nargs="?", type=int, default=None, help="test-set index of the second image (autoencoders)")
    interpolate.add_argument("--steps", type=int, default=10)
    interpolate.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    interpolate.add_argument("--out", default=None, help="PNG (default: RUN/generated/interpolation-...png)")
    interpolate.add_argument("--force", action="store_true", help="replace an existing file genlab did not write (never a run's own files, a folder or an input)")
    interpolate.add_argument("--data-dir", default=None)
    _add_backend(interpolate)

    for name, text in (("reconstruct", "encode and decode an image (PNG/JPEG of any size, or .npy batch)"),
                       ("denoise", "denoise an image with a trained dae run")):
        command = commands.add_parser(name, help=text)
        command.add_argument("run", help="run folder or pretrained:NAME")
        command.add_argument("input")
        command.add_argument("--out", default=None, help="output PNG (default: <input>-<command>ed.png)")
        command.add_argument("--force", action="store_true", help="replace an existing file genlab did not write (never a run's own files, a folder or an input)")
        _add_backend(command)

    evaluate = commands.add_parser(
        "evaluate", help="score a run (or a file of samples) with the shipped evaluator: FID, KID, precision, recall...",
        epilog=SAMPLER_EPILOG,
        description="Evaluate a run on the test set. Generative runs: 10000 new samples scored against the real test "
                    "set with FID, KID, precision/recall/density/coverage, classifier score, class coverage and the "
                    "nearest-training-neighbour distance, beside two reference rows.")
    evaluate.add_argument("run", nargs="?", default=None, help="run folder or pretrained:NAME (or use --samples)")
    evaluate.add_argument("--samples", default=None, help=".npz with an 'images' array (N x 28 x 28 [x 1], floats in [0, 1])")
    evaluate.add_argument("--dataset", default=None, help="the dataset to compare with (default: the run's; with --samples: mnist)")
    evaluate.add_argument("-n", "--count", type=int, default=10000, help="samples to draw from a run (default: 10000)")
    evaluate.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    evaluate.add_argument("--noise-sweep", action="store_true", help="autoencoders: metrics over noise factors 0.1..0.8")
    evaluate.add_argument("--no-reference", action="store_true", help="leave out the two reference rows")
    evaluate.add_argument("--json", default=None, help="also write the table's rows to this JSON file")
    evaluate.add_argument("--force", action="store_true", help="replace an existing file genlab did not write (never a run's own files, a folder or an input)")
    evaluate.add_argument("--data-dir", default=None)
    _add_backend(evaluate)

    likelihood = commands.add_parser(
        "likelihood", help="bits per dimension of a run's density on the test set (exact, or a named upper bound)",
        description="Score real images under a run's density: -log2 p(x) / D in bits per dimension (8-bit images; "
                    "8.00 is a uniform model), exact for an autoregressive model, an upper bound for a VAE "
                    "(importance-weighted) or a diffusion model (variational bound). Families without a density "
                    "(GANs, autoencoders, the classifier) refuse: score their samples with genlab evaluate.")
    likelihood.add_argument("run", help="run folder or pretrained:NAME")
    likelihood.add_argument("--images", default=None, help=".npz with an 'images' array (uint8 0..255 or floats in [0, 1]) "
                                                          "instead of the run's test set")
    likelihood.add_argument("-n", dest="count", type=int, default=None, help="score the first N images only")
    likelihood.add_argument("--seed", type=int, default=0, help="random seed of a bound's sampling (default: 0)")
    likelihood.add_argument("--json", default=None, help="also write the figures to this JSON file")
    likelihood.add_argument("--force", action="store_true", help="replace an existing file genlab did not write")
    likelihood.add_argument("--data-dir", default=None)
    _add_backend(likelihood)

    ood = commands.add_parser(
        "ood", help="how well a run's own score tells its test set from another dataset's (AUROC)",
        description="Score the run's test images and another dataset's with the run's own score (bits/dim for a density, "
                    "the energy or the discriminator's output, an autoencoder's reconstruction error) and report the AUROC "
                    "of telling them apart (0.5 is chance; below 0.5 the score prefers the other dataset). A density also "
                    "gets the complexity-corrected score: bits/dim minus the image's PNG size in bits/dim.")
    ood.add_argument("run", help="run folder or pretrained:NAME")
    ood.add_argument("--against", required=True, help="the other dataset: a name (fashion-mnist), an image folder or an .npz")
    ood.add_argument("-n", dest="count", type=int, default=None, help="test images on each side (default: 2000)")
    ood.add_argument("--seed", type=int, default=0, help="random seed of a score's sampling (default: 0)")
    ood.add_argument("--out", default=None, help="histogram PNG (default: RUN/generated/ood-DATASET.png)")
    ood.add_argument("--json", default=None, help="also write the figures to this JSON file")
    ood.add_argument("--force", action="store_true", help="replace an existing file genlab did not write")
    ood.add_argument("--data-dir", default=None)
    _add_backend(ood)

    complete = commands.add_parser("complete", help="keep the top rows of test images and let a pixelcnn run draw the rest",
                                   epilog=SAMPLER_EPILOG)
    complete.add_argument("run", help="run folder or pretrained:NAME")
    complete.add_argument("--images", default=None, help=".npz of images (default: the first test images of the run's dataset)")
    complete.add_argument("-n", "--count", type=int, default=6, help="images to complete (default: 6)")
    complete.add_argument("--keep-rows", type=int, default=None, help="rows kept from the top (default: half the image)")
    complete.add_argument("--samples", type=int, default=4, help="completions per image (default: 4)")
    complete.add_argument("--class", dest="class_label", type=int, default=None, help="conditional runs: this class")
    complete.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    complete.add_argument("--out", default=None, help="grid PNG (default: RUN/generated/completions-...png)")
    complete.add_argument("--force", action="store_true", help="replace an existing file genlab did not write")
    complete.add_argument("--data-dir", default=None)
    _add_backend(complete)

    evaluator = commands.add_parser(
        "evaluator", help="train an evaluator network for your data (FID and the rest for any dataset), or show them",
        description="genlab evaluate scores samples in an evaluator network's features. mnist, fashion-mnist and mondrian "
                    "ship one; `train` makes one for any other data (a folder, an .npz): a classifier of its classes, or "
                    "self-supervised where it has none, kept in genlab's cache under the data's fingerprint.")
    evaluator.add_argument("action", choices=["train", "show"])
    evaluator.add_argument("--dataset", default="mnist", help="a dataset name, an image folder or an .npz")
    evaluator.add_argument("--epochs", type=int, default=8)
    evaluator.add_argument("--image-size", type=int, default=None, help="resize images as a run with this image_size does")
    evaluator.add_argument("--channels", type=int, default=None, choices=[1, 3], help="convert images to 1 or 3 channels")
    evaluator.add_argument("--ship", action="store_true", help="(maintainers) rebuild the evaluator shipped for a known dataset")
    evaluator.add_argument("--data-dir", default=None)

    commands.add_parser("pretrained", help="the models shipped inside genlab (use them as pretrained:NAME wherever a RUN goes)",
                        description="List the pretrained models shipped inside genlab, with their test metrics. Each works "
                                    "offline wherever a RUN folder does, e.g. genlab sample pretrained:mnist-dae.")

    export = commands.add_parser("export", help="write a run's generator / decoder / denoiser as ONNX or a TensorFlow SavedModel",
                                 description="Export the network a client needs (gan, cgan, wgan-gp: generator; vae, ae: decoder; "
                                             "dae: denoiser) with genlab-export.json describing its inputs and output.")
    export.add_argument("run", help="run folder or pretrained:NAME")
    export.add_argument("--format", required=True, choices=["onnx", "savedmodel"])
    export.add_argument("--out", required=True, help="folder to create (refused if it exists, unless --force)")
    export.add_argument("--force", action="store_true",
                        help="replace an earlier export's folder (never a folder holding a run or files genlab did not write)")
    _add_backend(export)

    report = commands.add_parser("report", help="one self-contained HTML page for one or several runs")
    report.add_argument("runs", nargs="+", help="run folders")
    report.add_argument("--out", default="report.html")
    report.add_argument("--title", default="genlab report")
    report.add_argument("--force", action="store_true", help="replace an existing file genlab did not write (never a run's own files, a folder or an input)")

    explore = commands.add_parser("explore", help="a local web app to move through trained models' latent spaces")
    explore.add_argument("runs", nargs="*", help="run folders or pretrained:NAME (several: side by side; none: the pretrained models)")
    explore.add_argument("--port", type=int, default=None, help="port to listen on (default: a free one)")
    explore.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    explore.add_argument("--no-browser", action="store_true", help="do not open the page in a browser")
    _add_backend(explore)

    run_all = commands.add_parser("run", help="run a whole programme: 'chapter' (classifier, ae, dae, gan + report)")
    run_all.add_argument("what", choices=["chapter"])
    run_all.add_argument("--quick", action="store_true", help="budgets sized to the data present: the chapter, visibly working, in minutes")
    run_all.add_argument("--quiet", action="store_true", help="no progress bars")
    run_all.add_argument("--out", default=None, help="folder (default: runs/chapter-<time>)")
    run_all.add_argument("--dataset", default="mnist")
    run_all.add_argument("--data-dir", default=None)
    run_all.add_argument("--samples", type=int, default=None, help="samples per generative run to evaluate")
    _add_backend(run_all)

    textbook = commands.add_parser(
        "textbook", help="run one of the chapter's printed programs as printed (on Keras 3), the way a student runs it",
        description="The chapter's printed programs, shipped with genlab and changed only where Keras 3 requires it "
                    "(genlab.textbook; each module says what changed). Figures are written where the program shows them.")
    textbook.add_argument("program", choices=["classifier", "autoencoder", "denoising", "gan"])
    textbook.add_argument("--steps", type=int, default=None, help="gan: training steps (the chapter's EPOCHS = 2000)")
    textbook.add_argument("--epochs", type=int, default=None, help="classifier, autoencoder, denoising: epochs (2, 50, 50)")
    textbook.add_argument("--out", default=None, help="folder for the figures and result.json (default: textbook/PROGRAM-<time>)")
    textbook.add_argument("--dataset", default="mnist", help="mnist as printed; mnist-5k (embedded) for a quick try")
    textbook.add_argument("--data-dir", default=None)
    textbook.add_argument("--seed", type=int, default=0)
    textbook.add_argument("--quiet", action="store_true", help="print only the results")

    bench = commands.add_parser("bench", help="time genlab against the reference script in the same run")
    bench.add_argument("what", choices=["ae", "dae", "gan", "classifier", "evaluate", "limit", "diffusion", "pixelcnn", "backends",
                                        "quality", "chapter", "explore"],
                       help="a recipe against the reference script, the evaluator's speed, this machine's throughput limit, "
                            "the diffusion family's training and sampling speed, every family's training step on "
                            "every installed backend (backends), time to the textbook GAN's final FID "
                            "(quality), genlab run chapter against the four reference recipes (chapter), or the explorer "
                            "under N students at once (explore)")
    bench.add_argument("--repeats", type=int, default=None, help="evaluate: timed repetitions (default 3)")
    bench.add_argument("--steps", type=int, default=None,
                       help="gan: timed steps per side; diffusion, backends: timed training steps (backends: default 20); "
                            "quality: training steps (default 2000)")
    bench.add_argument("--steps-per-execution", type=int, default=None,
                       help="gan: also time the float32 step with this many steps per compiled call")
    bench.add_argument("--families", default=None, help="backends: comma-separated families (default: all)")
    bench.add_argument("--backends", default=None, help="backends: comma-separated backends (default: tensorflow,jax,torch)")
    bench.add_argument("--warmup", type=int, default=None, help="backends: untimed calls first, compilation included (default 3)")
    bench.add_argument("--timeout", type=float, default=None, help="backends: seconds each backend's subprocess may run (default 3600)")
    bench.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                       help="backends: a config key for every family that has it, e.g. --set dataset=mnist-5k")
    bench.add_argument("--every", type=int, default=200, help="quality: steps between scorings")
    bench.add_argument("--samples", type=int, default=2000, help="quality: samples scored each time")
    bench.add_argument("--recipes", default=None,
                       help="quality: comma-separated subset of reference,chapter,default,chapter-bf16,default-bf16")
    bench.add_argument("--bf16", action="store_true", help="quality: add both presets in mixed_bfloat16")
    bench.add_argument("--figure", default=None, help="quality: FID-against-seconds figure (default: --json's name .png, "
                                                      "else bench-quality.png)")
    bench.add_argument("--epochs", type=int, default=None, help="ae/dae/classifier: epochs per side")
    bench.add_argument("--clients", type=int, default=30, help="explore: clients asking at once (default 30)")
    bench.add_argument("--requests", type=int, default=10, help="explore: new images each client asks for in a row (default 10)")
    bench.add_argument("--reference", default=None, help="a reference script with the textbook loop's interface, e.g. an "
                                                         "independent one to cross-check (default: genlab's own, "
                                                         "python -m genlab.textbook.reference)")
    bench.add_argument("--data-dir", default=None)
    bench.add_argument("--json", default=None, help="write the results here too")
    bench.add_argument("--force", action="store_true", help="replace an existing file genlab did not write (never a run's own files, a folder or an input)")
    _add_backend(bench)
    return parser


def _run_command(args) -> int:
    from genlab import backend
    from genlab.console import setup_logging, summary_table, table

    setup_logging(verbose=not getattr(args, "quiet", False))
    if args.command == "train":
        from genlab import api, config

        sets = config.parse_sets(args.sets)
        if args.resume is not None and args.runs_dir is not None:
            raise GenlabError(f"--resume continues {args.resume} in place, so it takes no --runs-dir; drop --runs-dir")
        if args.on_nan is not None:
            sets["on_nan"] = args.on_nan
        api.train(args.family, preset=args.preset, config_file=args.config_file, overrides=sets,
                  out=args.out, runs_root=args.runs_dir or "runs", data_dir=args.data_dir, seed=args.seed, backend=args.backend,
                  verbose=0 if args.quiet else _verbosity(), resume=args.resume, print_summary=True, devices=args.devices,
                  coordinator=args.coordinator, num_processes=args.num_processes, process_id=args.process_id)
        return 0
    if args.command == "config":
        from genlab import api

        rows = api.config_help(args.family, args.preset)
        print(table(["key", "value", "what it does"], [[key, repr(value), text] for key, value, text in rows],
                    title=f"genlab train {args.family} --preset {args.preset or 'default'}: change a key with --set KEY=VALUE"))
        options = api.sampler_options_help(args.family)
        if options:
            print(table(["option", "default", "what it does"], options,
                        title=f"sampler options of a {args.family} run: genlab sample RUN --OPTION VALUE (also genlab evaluate)"))
        return 0
    if args.command == "datasets":
        from genlab import inventory

        entries = inventory.datasets(args.data_dir)
        print(table(["dataset", "where", "train", "test", "checksums"],
                    [[entry["name"], entry["where"], entry["train"] or "-", entry["test"] or "-", entry["checksums"]] for entry in entries]))
        return 0
    if args.command == "info":
        from genlab import inventory

        print(summary_table(list(inventory.info(args.backend).items()), title="genlab info"))
        return 0
    if args.command == "evaluator":
        from genlab import inventory

        if args.action == "show":
            rows = [(name, f"{entry.get('test_accuracy', '?')}", entry.get("kind", "classifier"),
                     entry.get("kept in", "shipped with genlab")) for name, entry in inventory.evaluators().items()]
            print(table(["dataset", "test accuracy", "kind", "where"], rows, title="evaluators"))
            return 0
        entry = inventory.train_evaluator(args.dataset, args.epochs, args.data_dir, ship=args.ship, image_size=args.image_size,
                                          channels=args.channels)
        print(summary_table(sorted((str(key), str(value)) for key, value in entry.items()), title="evaluator"))
        return 0
    if args.command == "pretrained":
        from genlab import api

        models = api.pretrained_models()
        print(table(["name", "family", "dataset", "test metrics", "size", "trained with"],
                    [[model.name, model.family, model.dataset or "-",
                      ", ".join(f"{key.removeprefix('sample_')} {value:.4g}" for key, value in model.metrics.items()) or "-",
                      (f"{model.bytes / 1e6:.1f} MB" if model.bytes >= 1e6 else f"{model.bytes / 1000:.0f} kB"), model.command] for model in models],
                    title="pretrained models: use NAME wherever a RUN folder goes, e.g. genlab sample NAME",
                    max_width=shutil.get_terminal_size((100, 24)).columns))
        return 0
    if args.command == "report":
        from genlab import api

        print(f"wrote {api.report(args.runs, args.out, args.title, force=args.force)}")
        return 0
    if args.command == "explore":
        backend.configure(args.backend)
        from genlab import explorer

        if args.host not in ("127.0.0.1", "localhost", "::1"):
            print(f"genlab: listening on {args.host}: other machines on the network can open the explorer")
        explorer.explore(args.runs, host=args.host, port=args.port, open_browser=not args.no_browser)
        return 0
    if args.command == "textbook":
        from genlab import textbook

        result = textbook.run(args.program, steps=args.steps, epochs=args.epochs, out=args.out or textbook.default_out(args.program),
                              data_dir=args.data_dir, dataset=args.dataset, seed=args.seed, verbose=0 if args.quiet else 1)
        print(textbook.summary(result))
        return 0
    if args.command == "run":
        backend.configure(args.backend)
        from genlab import chapter

        chapter.run_chapter(args.out, quick=args.quick, data_dir=args.data_dir, dataset=args.dataset, samples=args.samples,
                        verbose=0 if args.quiet else 1)
        return 0
    if args.command == "bench":
        if args.what != "backends":   # backends starts one subprocess per backend instead
            backend.configure(args.backend)
        from genlab import bench

        bench.main(args)
        return 0
    backend.configure(getattr(args, "backend", None), family=_family_of(getattr(args, "run", None)))
    from genlab import api

    if args.command == "evaluate":
        if args.samples is None and args.run is None:
            raise GenlabError("evaluate needs a RUN folder or --samples FILE.npz; see genlab evaluate --help")
        if args.json:
            from genlab import outputs

            # Checked before the evaluation's minutes, and again (with the write) by save_json below.
            outputs.file_target(args.json, force=args.force, inputs=[args.samples or args.run], option="--json",
                                suffixes=(".json",))
        result = api.evaluate(args.samples or args.run, dataset=args.dataset, count=args.count, seed=args.seed,
                              reference=not args.no_reference, data_dir=args.data_dir, noise_sweep=args.noise_sweep,
                              **_sampler_options(args))
        print(result.table())
        if "noise_sweep" in result.family_metrics:
            print(table(["noise", "factor", "input PSNR dB", "output PSNR dB", "output MSE", "output SSIM"],
                        [[row["noise"], row["noise_factor"], row["input_psnr_db"], row["output_psnr_db"], row["output_mse"],
                          row["output_ssim"]] for row in result.family_metrics["noise_sweep"]], title=f"noise sweep ({args.run})"))
        if args.json:
            api.save_json(result.rows or result.family_metrics, args.json, force=args.force, inputs=[args.samples or args.run])
        return 0
    if args.command in ("likelihood", "complete", "ood"):
        return _density_command(args)
    if args.command == "export":
        out = api.export(args.run, args.format, args.out, force=args.force)
        print(f"wrote {out} ({args.format}; what to feed it: {out / 'genlab-export.json'})")
        return 0
    if args.command == "sample":
        what = f"class {args.class_label}" if args.class_label is not None else "samples"
        sampler = _sampler_options(args)
        settings = "".join(f"-{key}{value}" for key, value in sampler.items() if value is not None)
        out = args.out or api.output_folder(args.run) / (f"{what.replace(' ', '-')}-n{args.count}-seed{args.seed}{settings}.png")
        _check_outputs(args, out)   # before minutes of sampling, not after
        images = api.sample(args.run, args.count, seed=args.seed, label=args.class_label, **sampler)
        written = api.save_images(images, out, npz=args.npz, title=f"{args.count} {what} from {Path(args.run).name}",
                                  force=args.force, inputs=[args.run])
        print("wrote " + " and ".join(str(path) for path in written) + f" ({len(images)} images)")
        return 0
    if args.command == "interpolate":
        between = None if args.a is None and args.b is None else (1 if args.a is None else args.a, 2 if args.b is None else args.b)
        out = args.out or api.output_folder(args.run) / f"interpolation-steps{args.steps}-seed{args.seed}.png"
        _check_outputs(args, out)
        grid = api.interpolate(args.run, steps=args.steps, seed=args.seed, between=between, data_dir=args.data_dir)
        api.save_images(grid.images, out, title=grid.title, columns=grid.columns, row_labels=grid.row_labels,
                        force=args.force, inputs=[args.run])
        print(f"wrote {out}")
        return 0
    if args.command in ("reconstruct", "denoise"):
        from genlab import outputs

        function = api.reconstruct if args.command == "reconstruct" else api.denoise
        label = "reconstructed" if args.command == "reconstruct" else "denoised"
        out = Path(args.out) if args.out else Path(args.input).with_name(Path(args.input).stem + f"-{label}.png")
        inputs = [args.run, args.input]
        outputs.file_target(out, force=args.force, inputs=inputs, suffixes=(".png",))   # before the model runs
        originals = api.input_images(args.run, args.input)
        results = function(args.run, originals)
        api.save_comparison(originals, results, out, force=args.force, inputs=inputs)
        print(f"wrote {out} (left: input, right: {label}; {len(results)} image(s))")
        return 0
    raise GenlabError(f"unknown command '{args.command}'; see genlab --help")


def _density_command(args) -> int:
    """genlab likelihood / genlab complete (genlab.density) / genlab ood (genlab.ood)."""
    from genlab import api, density, outputs

    if args.command == "ood":
        from genlab import out_of_distribution as ood

        against = Path(str(args.against)).name.replace(".npz", "") or "other"
        out = Path(args.out) if args.out else api.output_folder(args.run) / f"ood-{against}.png"
        _check_outputs(args, out)
        if args.json:
            outputs.file_target(args.json, force=args.force, inputs=[args.run], option="--json", suffixes=(".json",))
        result = ood.ood(args.run, args.against, args.count, seed=args.seed, data_dir=args.data_dir)
        print("\n".join(result.lines()))
        out.parent.mkdir(parents=True, exist_ok=True)
        print(f"wrote {ood.figure(result, out)} (histograms of both datasets' scores)")
        if args.json:
            api.save_json(result.as_json(), args.json, force=args.force, inputs=[args.run])
        return 0

    if args.command == "likelihood":
        if args.json:
            outputs.file_target(args.json, force=args.force, inputs=[args.run] + ([args.images] if args.images else []),
                                option="--json", suffixes=(".json",))
        result = density.likelihood(args.run, args.images, args.count, seed=args.seed, data_dir=args.data_dir)
        print(result.line())
        if args.json:
            api.save_json(result.as_json(), args.json, force=args.force, inputs=[args.run])
        return 0
    out = args.out or api.output_folder(args.run) / f"completions-n{args.count}-seed{args.seed}.png"
    _check_outputs(args, out)
    if args.images:
        images = density.read_images_file(args.images)[:args.count]
    else:
        from genlab import data

        _, _, config = api.open_run(args.run)
        images = data.load_configured(config, args.data_dir).x_test[:args.count]
    drawn = density.complete(args.run, images, args.keep_rows, samples=args.samples, seed=args.seed, label=args.class_label,
                             **_sampler_options(args))
    levels = density.levels_of(images)
    kept = drawn.shape[2] // 2 if args.keep_rows is None else args.keep_rows
    rows = density.completion_rows(levels, drawn, kept)
    api.save_images(rows.reshape((-1,) + drawn.shape[2:]), out, columns=rows.shape[1], force=args.force, inputs=[args.run],
                    title=f"top {kept} rows given (left), {args.samples} completions, the original (right)")
    print(f"wrote {out} ({len(drawn)} images x {args.samples} completions)")
    return 0


def _check_outputs(args, png) -> None:
    """The command's --out (and --npz) checked before its work starts (genlab.outputs decides)."""
    from genlab import outputs

    outputs.file_target(png, force=args.force, inputs=[args.run], option="--out", suffixes=(".png",))
    if getattr(args, "npz", None):
        outputs.file_target(args.npz, force=args.force, inputs=[args.run], option="--npz", suffixes=(".npz",))


def _verbosity() -> int:
    # Keras' per-batch bar is for terminals; in logs (CI, pipes) one line per epoch reads better.
    return 1 if sys.stdout.isatty() else 2


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    # sample and evaluate also take the run's own sampler options (--NAME VALUE, declared by its
    # family): left over here, typed once the run's family is known (_sampler_options).
    args, extra = parser.parse_known_args(argv)
    if extra and getattr(args, "command", None) not in ("sample", "evaluate", "complete"):
        parser.parse_args(argv)   # argparse's own "unrecognized arguments" error and exit code
    args.extra = extra
    if args.command is None:
        parser.print_help()
        return 0
    warnings.filterwarnings("default", module="genlab")
    from genlab import interrupts

    interrupts.install_terminate_handler()   # `kill` ends a command like Ctrl-C: a line, a checkpoint, a status
    try:
        return _run_command(args)
    except GenlabError as error:
        print(f"genlab: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as error:
        signal_name = getattr(error, "signal_name", "SIGINT")
        print(f"genlab: {error}" if str(error) else f"genlab: interrupted ({signal_name})", file=sys.stderr)
        return interrupts.EXIT_CODES.get(signal_name, 130)


if __name__ == "__main__":
    sys.exit(main())
