"""`genlab bench quality` and `genlab bench chapter` (genlab/bench/quality.py): the pure parts with
hand-computed values, one tiny end-to-end `bench quality` through the CLI (the reference side
faked), the reference-snapshot driver against a tiny stand-in of the reference script, and the
chapter ratio with faked timings. The real measurement takes over an hour: docs/results.md gives its commands."""
from __future__ import annotations

import json
import math
import textwrap
from pathlib import Path

import numpy as np
import pytest

from genlab.bench import quality as bench_quality
from genlab.errors import GenlabError


# ---------------------------------------------------------------------------- time to target
def test_time_to_target_is_the_first_scored_point_at_or_below_the_target():
    points = [(10.0, 50.0), (20.0, 30.0), (30.0, 12.0), (40.0, 15.0), (50.0, 9.0)]
    assert bench_quality.time_to_target(points, 14.0) == 30.0      # first crossing, not interpolated (25.x)
    assert bench_quality.time_to_target(points, 12.0) == 30.0      # equal counts as reached
    assert bench_quality.time_to_target(points, 60.0) == 10.0
    assert bench_quality.time_to_target(points, 10.0) == 50.0      # 15 at 40 s went back above: the first crossing is 50 s
    assert bench_quality.time_to_target(points, 5.0) is None       # never reached
    assert bench_quality.time_to_target([(10.0, math.nan), (20.0, 8.0)], 9.0) == 20.0
    assert bench_quality.time_to_target([], 9.0) is None


def test_summary_times_each_recipe_to_the_references_final_fid():
    def curve(*points):
        return {"label": "x", "points": [{"step": 100 * (i + 1), "seconds": s, "fid": f} for i, (s, f) in enumerate(points)],
                "train_seconds": points[-1][0]}

    curves = {"reference": curve((100.0, 40.0), (200.0, 20.0)),
              "chapter": curve((50.0, 30.0), (80.0, 19.0), (110.0, 18.0)),
              "default": curve((60.0, 25.0), (120.0, 21.0))}
    summary = bench_quality.summarize(curves)
    assert summary == {"target_fid": 20.0, "reference_train_seconds": 200.0}
    assert curves["reference"]["time_to_target_s"] == 200.0 and curves["reference"]["time_fraction"] == 1.0
    assert curves["chapter"]["time_to_target_s"] == 80.0 and curves["chapter"]["steps_to_target"] == 200
    assert curves["chapter"]["time_fraction"] == pytest.approx(0.4) and curves["chapter"]["speedup"] == pytest.approx(2.5)
    assert curves["default"]["time_to_target_s"] is None and curves["default"]["time_fraction"] is None
    assert curves["default"]["final_fid"] == 21.0


def test_recipes_are_checked_and_the_reference_always_comes_first():
    assert bench_quality.choose_recipes(None, bf16=False) == ["reference", "chapter", "default"]
    assert bench_quality.choose_recipes(None, bf16=True)[-2:] == ["chapter-bf16", "default-bf16"]
    assert bench_quality.choose_recipes("default, reference", bf16=False) == ["reference", "default"]
    with pytest.raises(GenlabError, match="unknown recipe 'fast'"):
        bench_quality.choose_recipes("reference,fast", bf16=False)
    with pytest.raises(GenlabError, match="must include reference"):
        bench_quality.choose_recipes("chapter", bf16=False)


# ---------------------------------------------------------------------------- end to end, tiny
def test_bench_quality_end_to_end_writes_every_curve_and_the_figure(tmp_path, monkeypatch, capsys):
    """2 genlab recipes really train 4 steps (batch 16, mnist-5k) and are scored at steps 2 and 4
    on 50 samples; the reference side (a subprocess of the real script) is a fixed curve."""
    from genlab import cli
    from genlab.bench import recipes

    monkeypatch.setattr(recipes, "mnist_folder", lambda data_dir: None)
    real_scorer, real_curve = bench_quality.fid_scorer, bench_quality.genlab_curve
    monkeypatch.setattr(bench_quality, "fid_scorer", lambda dataset, data_dir: real_scorer("mnist-5k", None))
    monkeypatch.setattr(bench_quality, "genlab_curve", lambda recipe, **named: real_curve(
        recipe, **{**named, "overrides": {"dataset": "mnist-5k", "batch_size": 16, "sample_grid": 4}}))
    reference_calls = []

    def fake_reference(script, folder, *, steps, every, samples, seed, score):
        reference_calls.append((steps, every, samples))
        # A huge target FID: the untrained genlab generators reach it at their first scoring.
        points = [{"step": 2, "seconds": 3.0, "fid": 5000.0, "score_seconds": 0.1},
                  {"step": 4, "seconds": 6.0, "fid": 1000.0, "score_seconds": 0.1}]
        return {"label": bench_quality.LABELS["reference"], "points": points, "train_seconds": 6.0}

    monkeypatch.setattr(bench_quality, "reference_curve", fake_reference)
    monkeypatch.setattr(recipes, "find_reference", lambda explicit: tmp_path / "seed_reference.py")
    out = tmp_path / "quality.json"
    assert cli.main(["bench", "quality", "--steps", "4", "--every", "2", "--samples", "50", "--json", str(out)]) == 0
    assert reference_calls == [(4, 2, 50)]
    results = json.loads(out.read_text())
    assert results["what"] == "quality" and results["target_fid"] == 1000.0
    assert sorted(results["recipes"]) == ["chapter", "default", "reference"]   # (the JSON file sorts its keys)
    for name in ("chapter", "default"):
        curve = results["recipes"][name]
        assert [point["step"] for point in curve["points"]] == [2, 4]
        assert all(np.isfinite(point["fid"]) and point["fid"] > 0 for point in curve["points"])
        # scoring is off the training clock: the run's train_wall_s is the clock at the last point (plus the final save)
        assert 0 < curve["points"][0]["seconds"] < curve["points"][1]["seconds"] <= curve["train_seconds"]
        assert curve["time_to_target_s"] == curve["points"][0]["seconds"]
        assert 0 < curve["housekeeping_share"] < 1         # logging, grids and checkpoints, within the training time
    assert (tmp_path / "quality.png").stat().st_size > 1000
    assert "target: the textbook loop's final FID 1000.00" in capsys.readouterr().out


@pytest.mark.parametrize("fids, wanted", [([184.0, 92.0], {100, 140, 180}),  # half a decade: round values
                                           ([60.0, 9.0], {10, 20, 30, 50})])  # wider: 2, 3 and 5 times a decade
def test_the_fid_figure_labels_its_whole_range(tmp_path, monkeypatch, fids, wanted):
    """A short run's FIDs (92 to 184) got only the labels 90 and 100 on the log axis: the upper
    part of the plot had none. Every span now gets labels across it."""
    from genlab import plotting

    drawn = {}

    def keep(figure, path):
        figure.canvas.draw()
        axis = figure.axes[0]
        low, high = axis.get_ylim()
        drawn["labels"] = {float(label.get_text()) for label in axis.get_yticklabels(which="both")
                           if label.get_text() and low <= label.get_position()[1] <= high}
        return path

    monkeypatch.setattr(plotting, "_save", keep)
    plotting.fid_against_seconds([("a", [1.0, 2.0], fids)], tmp_path / "f.png", target=min(fids) * 1.1)
    assert wanted <= drawn["labels"], drawn
    assert max(drawn["labels"]) > (min(fids) * max(fids)) ** 0.5     # labels in the upper half of the range too


def test_bench_quality_refuses_bad_input_in_one_line(capsys):
    from genlab import cli

    assert cli.main(["bench", "quality", "--samples", "5"]) == 2
    assert cli.main(["bench", "quality", "--recipes", "chapter"]) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 2 and "too few" in errors[0] and "must include reference" in errors[1]


def test_bench_gan_refuses_a_bad_steps_per_execution_before_any_training(capsys):
    from genlab import cli

    assert cli.main(["bench", "gan", "--steps-per-execution", "0"]) == 2
    assert capsys.readouterr().err.strip() == "genlab: error: --steps-per-execution must be at least 1, got 0"


# ---------------------------------------------------------------------------- the reference's snapshots
STAND_IN = '''
"""A stand-in for seed_reference.py with its shape: main(argv), a discriminator trained with
train_on_batch, then a stacked model (G then D) trained with train_on_batch, once per step."""
import argparse, json, os
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
import numpy as np

def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("recipe"); p.add_argument("--data-dir"); p.add_argument("--steps", type=int)
    p.add_argument("--seed", type=int, default=0); p.add_argument("--json")
    args = p.parse_args(argv)
    import keras
    keras.utils.set_random_seed(args.seed)
    d = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(1, activation="sigmoid")])
    d.compile(loss="binary_crossentropy", optimizer="adam")
    g = keras.Sequential([keras.Input((4,)), keras.layers.Dense(784, activation="sigmoid"), keras.layers.Reshape((28, 28, 1))])
    z = keras.Input((4,))
    d.trainable = False
    stacked = keras.Model(z, d(g(z)))
    stacked.compile(loss="binary_crossentropy", optimizer="adam")
    for _ in range(args.steps):
        fake = g.predict(np.random.uniform(-1, 1, (8, 4)), verbose=0)
        d.trainable = True
        d.train_on_batch(np.concatenate([np.random.rand(8, 28, 28, 1), fake]), np.r_[np.ones(8), np.zeros(8)])
        d.trainable = False
        stacked.train_on_batch(np.random.uniform(-1, 1, (8, 4)), np.ones(8))
    json.dump({"recipe": "gan", "steps": args.steps, "seconds_per_step": 0.01, "train_wall_s": 0.05}, open(args.json, "w"))
    return 0
'''


def test_reference_snapshots_sample_the_generator_every_n_steps_off_the_clock(tmp_path):
    import keras

    from genlab import reference_snapshots

    script = tmp_path / "stand_in.py"
    script.write_text(textwrap.dedent(STAND_IN))
    original = keras.Model.train_on_batch
    out = tmp_path / "snapshots"
    assert reference_snapshots.main([str(script), "--data-dir", str(tmp_path), "--out", str(out), "--steps", "5",
                                     "--every", "2", "--samples", "30"]) == 0
    assert keras.Model.train_on_batch is original          # Keras is given back
    summary = json.loads((out / "snapshots.json").read_text())
    assert [point["step"] for point in summary["points"]] == [2, 4, 5]     # every 2, and the last
    seconds = [point["seconds"] for point in summary["points"]]
    assert 0 < seconds[0] < seconds[1] < seconds[2]
    assert summary["reference"]["seconds_per_step"] == 0.01
    images = np.load(out / summary["points"][-1]["file"])
    assert images.shape == (30, 28, 28, 1) and 0 <= images.min() and images.max() <= 1
    # A script that no longer updates the stacked model once per step is refused, not mis-measured.
    broken = tmp_path / "broken.py"
    broken.write_text(textwrap.dedent(STAND_IN).replace("        stacked.train_on_batch(", "        pass  # ("))
    assert reference_snapshots.main([str(broken), "--data-dir", str(tmp_path), "--out", str(tmp_path / "broken"),
                                     "--steps", "2", "--every", "2", "--samples", "30"]) == 1


# ---------------------------------------------------------------------------- the whole chapter
def test_chapter_ratio_arithmetic():
    result = bench_quality.chapter_ratio(300.0, {"classifier": 20.0, "ae": 100.0, "dae": 100.0, "gan": 380.0})
    assert result["reference_seconds"] == 600.0
    assert result["speedup"] == 2.0 and result["time_fraction"] == 0.5
    with pytest.raises(GenlabError, match="positive"):
        bench_quality.chapter_ratio(0.0, {"gan": 1.0})


def test_bench_chapter_runs_the_four_recipes_then_genlab_and_divides(tmp_path, monkeypatch, capsys):
    from genlab import cli
    from genlab.bench import recipes

    monkeypatch.setattr(recipes, "mnist_folder", lambda data_dir: tmp_path)
    monkeypatch.setattr(recipes, "find_reference", lambda explicit: tmp_path / "seed_reference.py")
    seconds = {"classifier": 10.0, "ae": 60.0, "dae": 70.0, "gan": 460.0}
    commands = []

    def fake_run_timed(command, env=None):
        commands.append(command)
        if "chapter" in command:        # genlab run chapter: its runs' metrics.json, then 240 s
            out = command[command.index("--out") + 1]
            for program in bench_quality.REFERENCE_PROGRAMS:
                folder = Path(out) / program
                folder.mkdir(parents=True)
                (folder / "metrics.json").write_text(json.dumps({"train_wall_s": seconds[program] / 3, "housekeeping_share": 0.025}))
            return 240.0
        program = command[2]
        Path(command[command.index("--json") + 1]).write_text(
            json.dumps({"train_wall_s": seconds[program] - 5}))
        return seconds[program]

    monkeypatch.setattr(bench_quality, "run_timed", fake_run_timed)
    out = tmp_path / "chapter.json"
    assert cli.main(["bench", "chapter", "--json", str(out)]) == 0
    assert [command[2] for command in commands[:4]] == ["classifier", "ae", "dae", "gan"]
    assert commands[4][1:5] == ["-m", "genlab", "run", "chapter"]
    results = json.loads(out.read_text())
    assert results["reference_seconds"] == 600.0 and results["genlab_seconds"] == 240.0
    assert results["speedup"] == 2.5 and results["time_fraction"] == 0.4
    assert results["reference_train_wall_s"]["gan"] == 455.0 and results["genlab_train_wall_s"]["ae"] == 20.0
    assert results["genlab_gan_housekeeping_share"] == 0.025
    output = capsys.readouterr().out
    assert "speed-up 2.50x" in output and "GAN spent 2.5% of its training time logging" in output


# ---------------------------------------------------------------------------- the loop's observer
def test_observing_a_run_changes_no_update_and_stays_off_its_clock(tmp_path):
    """The observer samples the generator (training=False) every 2 steps: the losses are those
    of the same run unobserved, and a slow observer's time is not training time."""
    import time

    from genlab import engine
    from conftest import tiny_run

    plain = tiny_run("gan", tmp_path / "plain", preset="chapter", log_every=1)

    class SlowObserver(engine.Observer):
        every = 2

        def __init__(self):
            self.seen, self.ended = [], None

        def train_begin(self, context):
            self.context = context

        def step_end(self, step, values):
            if step % self.every == 0:
                trainer = self.context.model
                trainer.generate(trainer.latent(8, np.random.default_rng(0)))
                self.seen.append(step)
                time.sleep(2.0)

        def train_end(self, metrics):
            self.ended = metrics["steps"]

    observer = SlowObserver()
    with engine.observing(observer):
        observed = tiny_run("gan", tmp_path / "observed", preset="chapter", log_every=1)
    assert observer.seen == [2, 4, 6] and observer.ended == 6
    assert observer.context.unit == "steps" and observer.context.config.steps == 6
    losses = [[row["d_loss"], row["g_loss"]] for row in plain.read_history()]
    assert [[row["d_loss"], row["g_loss"]] for row in observed.read_history()] == losses
    # 6 s slept; counted, they would put the observed run that far behind the plain one (half of it
    # is the margin for two tiny runs' tracing times differing on a loaded machine).
    assert observed.read_metrics()["train_wall_s"] < plain.read_metrics()["train_wall_s"] + 3.0
    assert engine.attached() == ()
