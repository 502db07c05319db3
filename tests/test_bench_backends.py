"""`genlab bench backends` (one subprocess per backend, the comparison table) and `--backend auto`."""
from __future__ import annotations

import importlib.util
import json

import pytest

from genlab import backend, cli, families
from genlab.bench import backends as bench_backends

TABLE = {"source": "genlab bench backends", "cpu": {"gan": "tensorflow", "ae": "jax", "vae": "tensorflow", "vae:dense": "jax"},
         "gpu": {"gan": "jax"}}
ALL = ["tensorflow", "jax", "torch"]


def test_compare_gives_each_backend_its_ratio_to_the_family_fastest():
    records = [
        {"family": "gan", "backend": "torch", "device": "cpu", "seconds_per_step": 0.6, "first_call_s": 1.0},
        {"family": "gan", "backend": "tensorflow", "device": "cpu", "seconds_per_step": 0.4, "first_call_s": 2.0},
        {"family": "gan", "backend": "jax", "device": "cpu", "seconds_per_step": 4.0, "first_call_s": 12.0},
        {"family": "ae", "backend": "tensorflow", "device": "cpu", "seconds_per_step": 0.02, "first_call_s": 1.5},
        {"family": "ae", "backend": "jax", "device": "cpu", "seconds_per_step": 0.01, "first_call_s": 1.0},
        {"family": "ae", "backend": "torch", "skipped": "not installed"},
        {"family": "diffusion", "backend": "jax", "skipped": "jax is not installed"},
    ]
    compared = bench_backends.compare(records)
    # Families in order of appearance, backends in genlab's order (tensorflow, jax, torch).
    assert [(r["family"], r["backend"]) for r in compared] == [
        ("gan", "tensorflow"), ("gan", "jax"), ("gan", "torch"), ("ae", "tensorflow"), ("ae", "jax"), ("ae", "torch"),
        ("diffusion", "jax")]
    ratios = [r["ratio"] for r in compared]
    assert ratios[:5] == pytest.approx([1.0, 10.0, 1.5, 2.0, 1.0])   # 0.4/0.4, 4/0.4, 0.6/0.4, 0.02/0.01, 0.01/0.01
    assert ratios[5:] == [None, None]
    assert [r["fastest"] for r in compared] == [True, False, False, False, True, False, False]
    assert bench_backends.winners(compared) == {"cpu": {"gan": "tensorflow", "ae": "jax"}}
    dense = [{"family": "ae", "backend": "jax", "device": "cpu", "architecture": "dense", "seconds_per_step": 0.001}]
    assert bench_backends.winners(bench_backends.compare(dense), by_architecture=True) == {"cpu": {"ae:dense": "jax"}}
    rows = bench_backends.table_rows(compared)
    assert rows[1][:7] == ["gan", "jax", "cpu", "-", 4.0, 12.0, "10.00x"]
    assert rows[0][-1] == "fastest" and rows[5][4:7] == ["-", "-", "-"] and rows[5][-1] == "not installed"
    assert len(rows[0]) == len(bench_backends.HEADERS)


def test_auto_picks_the_measured_fastest_installed_backend_else_tensorflow():
    assert backend.choose_auto("ae", "cpu", ALL, TABLE) == ("jax", "auto: jax, fastest for ae on cpu in genlab bench backends")
    assert backend.choose_auto("gan", "cpu", ALL, TABLE)[0] == "tensorflow"
    assert backend.choose_auto("gan", "gpu", ALL, TABLE)[0] == "jax"
    name, reason = backend.choose_auto("ae", "cpu", ["tensorflow", "torch"], TABLE)   # the winner is not installed
    assert name == "tensorflow" and "jax is fastest for ae on cpu" in reason and "not installed" in reason
    # A network measured apart ("vae:dense") wins over the family's default-network entry.
    assert backend.choose_auto("vae", "cpu", ALL, TABLE, "dense") == (
        "jax", "auto: jax, fastest for vae (dense) on cpu in genlab bench backends")
    assert backend.choose_auto("vae", "cpu", ALL, TABLE, "conv")[0] == "tensorflow"
    assert backend.choose_auto("ae", "cpu", ALL, TABLE, "dense")[0] == "jax"   # no "ae:dense": the family's entry
    for family, kind in (("cgan", "cpu"), ("ae", "gpu"), (None, "cpu")):   # nothing measured: genlab's default
        name, reason = backend.choose_auto(family, kind, ALL, TABLE)
        assert name == "tensorflow" and "genlab's default" in reason and "\n" not in reason


def test_the_shipped_table_names_known_families_and_backends_only():
    table = backend.auto_table()
    for kind in ("cpu", "gpu"):
        for key, name in table[kind].items():
            assert key.split(":")[0] in families.names() and name in backend.BACKENDS


def test_device_kind_guess_is_cpu_when_cuda_devices_are_hidden(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "-1")
    assert backend.device_kind_guess() == "cpu"


def test_backend_auto_is_accepted_and_recorded_in_the_run(tmp_path):
    import keras   # this process' Keras already runs tensorflow (conftest): auto keeps it and says so

    from genlab import api

    assert cli.build_parser().parse_args(["train", "gan", "--backend", "auto"]).backend == "auto"
    run = api.train("classifier", backend="auto", out=tmp_path / "run",
                    overrides={"dataset": "mnist-5k", "architecture": "dense", "epochs": 1, "batch_size": 256})
    metrics = run.read_metrics()
    assert metrics["backend"] == keras.backend.backend() == "tensorflow"
    # The dense classifier's measured winner (shipped table) is jax: the network is read from the config.
    assert metrics["backend_choice"] == ("auto: tensorflow, the backend keras was already imported with "
                                         "(else: jax, fastest for classifier (dense) on cpu in genlab bench backends)")


def test_the_adversarial_step_is_timed_through_the_trainers_compiled_step():
    record = bench_backends.measure("gan", steps=2, warmup=1, overrides={"dataset": "mnist-5k", "batch_size": "16"})
    assert record["backend"] == "tensorflow" and record["batch_size"] == 16 and record["timed_steps"] == 2
    assert record["seconds_per_step"] > 0 and record["first_call_s"] > 0


@pytest.mark.parametrize("arguments, message", [
    (["--steps", "0"], "--steps and --warmup must be at least 1"),
    (["--warmup", "0"], "--steps and --warmup must be at least 1"),
    (["--timeout", "0"], "--timeout must be positive"),
    (["--families", "gann"], "unknown model family 'gann'"),
    (["--backends", "tensorflow,mxnet"], "unknown backend 'mxnet'"),
    (["--families", "gan", "--set", "batchsize=16"], "no config key 'batchsize' in gan"),
])
def test_bad_bench_backends_arguments_are_one_line_errors(arguments, message, capsys):
    assert cli.main(["bench", "backends", *arguments]) == 2
    error = capsys.readouterr().err.strip()
    assert message in error and "\n" not in error


def test_a_worker_past_its_timeout_is_one_line_naming_the_backend(caplog):
    records = bench_backends.run_backends(["gan"], steps=1, backends=["tensorflow"], timeout_s=0.5)
    assert records[0]["backend"] == "tensorflow" and "tensorflow worker did not finish within 0 s" in records[0]["error"]
    assert any("tensorflow worker did not finish" in message for message in caplog.messages)


def test_bench_backends_end_to_end_on_a_tiny_dense_ae(tmp_path, capsys):
    """The real thing, restricted: ae (dense, batch 16: seconds to compile), 2 timed steps; one
    subprocess for tensorflow, one for jax when installed (the adversarial step: the test above)."""
    backends = ["tensorflow"] + (["jax"] if importlib.util.find_spec("jax") else [])
    out = tmp_path / "bench.json"
    assert cli.main(["bench", "backends", "--families", "ae", "--backends", ",".join(backends), "--steps", "2",
                     "--warmup", "1", "--set", "batch_size=16", "--set", "architecture=dense", "--set", "steps_per_execution=1",
                     "--set", "dataset=mnist-5k", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "genlab bench backends" in printed and "vs fastest" in printed and "ae (dense)" in printed
    saved = json.loads(out.read_text())
    results = saved["results"]
    assert [record["backend"] for record in results] == backends
    for record in results:
        assert record["family"] == "ae" and record["batch_size"] == 16 and record["timed_steps"] == 2
        assert record["seconds_per_step"] > 0 and record["first_call_s"] > 0 and record["device"] == "cpu"
    assert min(record["ratio"] for record in results) == 1.0
    assert list(saved["fastest"]["cpu"]) == ["ae:dense"]   # measured with --set architecture=: its own entry
