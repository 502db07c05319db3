"""The divergence guard: a NaN stops a GAN run with its last good checkpoint kept, or (with
on_nan=rollback) rewinds to it with half the learning rate and finishes."""
import json

import numpy as np
import pytest

from genlab import api
from genlab.errors import DivergenceError
from genlab.families import gan

TINY = {"dataset": "mnist-5k", "steps": 8, "batch_size": 16, "checkpoint_every": 2, "log_every": 2,
        "sample_every": 4, "sample_grid": 4}


def _nan_at(monkeypatch, *bad_calls: int, record=None):
    """Feed a NaN batch at these calls of the step (as a corrupt batch would). `record`, if
    given, collects (learning rate of G, the step's first real pixel sum) at every call."""
    calls = {"count": 0}
    original_init = gan.GANTrainer.__init__

    def patched_init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        real_step = self.step

        def step(real, *labels):
            calls["count"] += 1
            if record is not None:
                record.append((self.learning_rates()[1], float(np.sum(real))))
            if calls["count"] in bad_calls:
                real = np.full_like(real, np.nan)
            return real_step(real, *labels)

        self.step = step

    monkeypatch.setattr(gan.GANTrainer, "__init__", patched_init)
    return calls


def _nan_once_at(monkeypatch, bad_step: int):
    return _nan_at(monkeypatch, bad_step)


def test_a_nan_batch_stops_the_run_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    _nan_once_at(monkeypatch, bad_step=5)
    out = tmp_path / "run"
    with pytest.raises(DivergenceError, match="diverged at step 5") as caught:
        api.train("gan", preset="chapter", overrides=TINY, out=out, verbose=0, print_summary=False)
    assert "\n" not in str(caught.value)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["status"] == "failed" and metrics["last_good_checkpoint"] == 4
    latest = json.loads((out / "checkpoints" / "latest.json").read_text())
    assert latest["step"] == 4
    with np.load(out / "checkpoints" / latest["file"], allow_pickle=False) as arrays:
        assert all(np.isfinite(arrays[key]).all() for key in arrays.files if arrays[key].dtype.kind == "f")


def test_rollback_restores_the_checkpoint_with_half_the_learning_rate_and_finishes(tmp_path, monkeypatch):
    _nan_once_at(monkeypatch, bad_step=5)
    out = tmp_path / "run"
    run = api.train("gan", preset="chapter", overrides={**TINY, "on_nan": "rollback"}, out=out, verbose=0, print_summary=False)
    metrics = run.read_metrics()
    assert metrics["status"] == "complete" and metrics["rollbacks"] == 1
    steps = [row["step"] for row in run.read_history()]
    assert steps == [2, 4, 6, 8]   # the bad window was dropped and redone, no duplicates
    assert np.isfinite([row["d_loss"] for row in run.read_history()]).all()


def test_two_rollbacks_in_a_row_halve_the_rate_again_and_draw_other_batches(tmp_path, monkeypatch):
    """Each rollback restores the step-4 checkpoint (which holds the original learning rate and the
    data order): the rate must still compound (1/2, then 1/4) and each retry must see other data,
    or retries 2 and 3 would replay retry 1 exactly."""
    record = []
    # The loop reads results back in chunks (here 2 steps, log_every=2): call 5 is step 5 (NaN),
    # call 6 step 6; the guard then rolls back to step 4, so call 7 is step 5 again (NaN again),
    # call 8 step 6; rollback 2, and call 9 is step 5 once more.
    _nan_at(monkeypatch, 5, 7, record=record)
    run = api.train("gan", preset="chapter", overrides={**TINY, "on_nan": "rollback"}, out=tmp_path / "run",
                    verbose=0, print_summary=False)
    assert run.read_metrics()["rollbacks"] == 2 and run.read_metrics()["status"] == "complete"
    original = record[0][0]
    rates = [rate for rate, _ in record]
    assert rates[6] == pytest.approx(original / 2) and rates[8] == pytest.approx(original / 4)
    # Steps 5 (first try, call 5), 5 (retry 1, call 7) and 5 (retry 2, call 9) drew three different batches.
    batches = [record[index][1] for index in (4, 6, 8)]
    assert len(set(batches)) == 3
