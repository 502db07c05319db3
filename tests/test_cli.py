"""The `genlab` command line: help, a tiny end-to-end run, and one-line errors with exit status 2."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import cli_error

from genlab import cli, io

FAMILIES = ("classifier", "ae", "dae", "gan")
GENLAB = Path(sys.executable).with_name("genlab")


def run_help(argv, capsys) -> str:
    with pytest.raises(SystemExit) as exited:
        cli.main(argv)
    assert exited.value.code == 0
    return capsys.readouterr().out


# ------------------------------------------------------------------------------------ help


def test_top_level_help(capsys):
    text = run_help(["--help"], capsys)
    assert text.startswith("usage: genlab")
    for command in ("train", "sample", "denoise", "evaluate", "datasets", "info"):
        assert command in text
    for family in FAMILIES:
        assert family in text


def test_train_help_lists_the_families(capsys):
    text = run_help(["train", "--help"], capsys)
    assert "--preset" in text and "--set KEY=VALUE" in text and "--resume" in text
    for family in FAMILIES:
        assert family in text


def test_no_command_prints_help(capsys):
    assert cli.main([]) == 0
    assert "usage: genlab" in capsys.readouterr().out


def test_version(capsys):
    from genlab import __version__

    assert run_help(["--version"], capsys).strip() == f"genlab {__version__}"


@pytest.mark.skipif(not GENLAB.is_file(), reason="the genlab console script is not installed beside this Python")
def test_console_script_help():
    done = subprocess.run([str(GENLAB), "--help"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0
    assert "usage: genlab" in done.stdout


# ------------------------------------------------------------------------------------ end to end


def test_train_classifier_end_to_end(tmp_path, capsys):
    out = tmp_path / "clf"
    code = cli.main(["train", "classifier", "--preset", "chapter", "--set", "dataset=mnist-5k", "--set", "epochs=1",
                     "--out", str(out), "--quiet"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "test_accuracy" in printed and str(out) in printed
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["status"] == "complete"
    assert metrics["test_accuracy"] > 0.5  # a random model scores about 0.1
    config_text = (out / "config.toml").read_text()
    assert 'preset = "chapter"' in config_text and "epochs = 1" in config_text
    assert 'architecture = "dense"' in config_text  # from the chapter preset
    assert (out / "model.keras").is_file()

    # Commands for generative runs refuse a classifier run with one line.
    assert cli.main(["sample", str(out)]) == 2
    assert "is a classifier run, which does not generate images" in cli_error(capsys)
    # And --out refuses to overwrite the finished run.
    assert cli.main(["train", "classifier", "--set", "dataset=mnist-5k", "--out", str(out), "--quiet"]) == 2
    assert "is already a run folder" in cli_error(capsys)


def test_train_on_real_mnist(real_mnist_dir, tmp_path, capsys):
    out = tmp_path / "clf"
    code = cli.main(["train", "classifier", "--preset", "chapter", "--set", "epochs=1", "--data-dir", str(real_mnist_dir),
                     "--out", str(out), "--quiet"])
    assert code == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["dataset"] == "mnist" and metrics["status"] == "complete"
    assert metrics["test_accuracy"] > 0.9  # the chapter's dense net after one epoch on 48000 digits


# ------------------------------------------------------------------------------------ errors


def test_unknown_family(tmp_path, capsys):
    out = tmp_path / "never"
    assert cli.main(["train", "gann", "--out", str(out)]) == 2
    assert "unknown model family 'gann'; did you mean 'gan'?" in cli_error(capsys)
    assert not out.exists()


def test_unknown_key(tmp_path, capsys):
    out = tmp_path / "never"
    assert cli.main(["train", "classifier", "--set", "epoch=1", "--out", str(out)]) == 2
    assert "unknown config key 'epoch' in --set; did you mean 'epochs'?" in cli_error(capsys)
    assert not out.exists()  # nothing is created before the config is valid


def test_bad_value_and_set_without_equals(capsys):
    assert cli.main(["train", "classifier", "--set", "epochs=lots"]) == 2
    assert "config key 'epochs' wants int, got 'lots'" in cli_error(capsys)
    assert cli.main(["train", "classifier", "--set", "epochs"]) == 2
    assert "--set wants key=value, got 'epochs'" in cli_error(capsys)


def test_unknown_preset(capsys):
    assert cli.main(["train", "ae", "--preset", "chapterr"]) == 2
    assert "unknown preset 'chapterr' for ae; did you mean 'chapter'?" in cli_error(capsys)


def test_missing_config_file(tmp_path, capsys):
    assert cli.main(["train", "dae", "--config", str(tmp_path / "missing.toml")]) == 2
    line = cli_error(capsys)
    assert "missing.toml does not exist" in line and "--config" in line


def test_malformed_config_file(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("epochs = \n")
    assert cli.main(["train", "dae", "--config", str(bad)]) == 2
    assert "is not valid TOML" in cli_error(capsys)


@pytest.mark.parametrize("command, extra", [("sample", []), ("interpolate", []), ("evaluate", []),
                                            ("denoise", ["x.png"]), ("reconstruct", ["x.npy"])])
def test_bad_run_folder(tmp_path, capsys, command, extra):
    folder = tmp_path / "not-a-run"
    folder.mkdir()
    assert cli.main([command, str(folder), *extra]) == 2
    assert "is not a genlab run folder (no config.toml)" in cli_error(capsys)


def test_resume_a_run_of_another_family(tmp_path, capsys):
    folder = tmp_path / "gan-run"
    io.write_text(folder / "config.toml", 'family = "gan"\npreset = "chapter"\n[config]\nsteps = 3\n')
    assert cli.main(["train", "classifier", "--resume", str(folder)]) == 2
    assert "is a 'gan' run, not 'classifier'" in cli_error(capsys)


def test_resume_without_checkpoint(tmp_path, capsys):
    folder = tmp_path / "gan-run"
    io.write_text(folder / "config.toml", 'family = "gan"\npreset = "chapter"\n[config]\ndataset = "mnist-5k"\nsteps = 3\nbatch_size = 16\n')
    assert cli.main(["train", "gan", "--resume", str(folder), "--quiet"]) == 2
    assert "has no complete checkpoint to resume from" in cli_error(capsys)
    assert json.loads((folder / "metrics.json").read_text())["status"] == "failed"


def test_argparse_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as exited:
        cli.main(["train"])  # the family is required
    assert exited.value.code == 2
    assert "genlab train: error:" in capsys.readouterr().err


# ------------------------------------------------------------------------------------ datasets, info


def test_datasets(capsys):
    assert cli.main(["datasets"]) == 0
    text = capsys.readouterr().out
    for name in ("mnist", "fashion-mnist", "mnist-5k"):
        assert name in text
    mnist_5k_line = next(line for line in text.splitlines() if "mnist-5k" in line)
    assert "4000" in mnist_5k_line and "1000" in mnist_5k_line


def test_datasets_with_real_mnist(real_mnist_dir, capsys):
    assert cli.main(["datasets", "--data-dir", str(real_mnist_dir)]) == 0
    mnist_line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("| mnist "))
    assert "60000" in mnist_line and "10000" in mnist_line


def test_info(capsys):
    import keras

    assert cli.main(["info"]) == 0
    text = capsys.readouterr().out
    assert "backend" in text and keras.backend.backend() in text
    assert keras.__version__ in text


def test_info_with_a_conflicting_backend(capsys):
    import keras

    other = "torch" if keras.backend.backend() != "torch" else "tensorflow"
    assert cli.main(["info", "--backend", other]) == 2
    assert f"keras was already imported with backend '{keras.backend.backend()}'" in cli_error(capsys)


def test_latent_paths_run_straight_from_start_to_end_row_by_row():
    from genlab.latent import latent_paths

    starts, ends = np.array([[0.0, 2.0], [1.0, 1.0]]), np.array([[4.0, -2.0], [1.0, 3.0]])
    path = latent_paths(starts, ends, 5)
    assert path.shape == (10, 2) and path.dtype == np.float32
    np.testing.assert_array_equal(path[[0, 4, 5, 9]], [starts[0], ends[0], starts[1], ends[1]])
    np.testing.assert_allclose(path[2], [2.0, 0.0])          # the midpoint of the first row
    np.testing.assert_allclose(path[6], [1.0, 1.5])          # a quarter of the way along the second
