"""The autoencoder families: the chapter's DAE noise law, a tiny DAE that really denoises, its
figures, and the commands that act on a trained run (denoise, reconstruct, interpolate, sample,
evaluate)."""
from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import cli_error, raises_one_line, tiny_run
from PIL import Image, ImageDraw

from genlab import api, cli, families
from genlab.errors import ConfigError
from genlab.families.autoencoder import corrupt

SHAPE = (400, 28, 28, 1)  # 313,600 pixels: share estimates good to well under 1 %


@pytest.fixture(scope="module")
def dae_run(tmp_path_factory):
    """The chapter's DAE (dense 784-32-784, gaussian 0.55 unclipped, drawn once), shortened."""
    return tiny_run("dae", tmp_path_factory.mktemp("dae") / "run", preset="chapter",
                    architecture="dense", epochs=4, batch_size=64)


@pytest.fixture(scope="module")
def ae_run(tmp_path_factory):
    return tiny_run("ae", tmp_path_factory.mktemp("ae") / "run", preset="chapter", epochs=1, batch_size=256)


def clean_images(seed=0):
    return np.random.default_rng(seed).random(SHAPE, dtype=np.float32)


# ------------------------------------------------------------------------------------ noise law


def test_chapter_dae_preset_is_the_chapter_noise():
    chapter = families.get("dae").presets["chapter"]
    assert (chapter["noise"], chapter["noise_factor"], chapter["clip_noisy"], chapter["fresh_noise"]) == (
        "gaussian", 0.55, False, False)


def test_gaussian_noise_law():
    clean = clean_images()
    noisy = corrupt(clean, "gaussian", 0.55, False, np.random.default_rng(1))
    assert noisy.dtype == np.float32 and noisy.shape == clean.shape
    difference = (noisy - clean).astype(np.float64)
    assert abs(difference.mean()) < 0.005
    assert difference.std() == pytest.approx(0.55, rel=0.01)
    # Not clipped: a visible share of values leaves [0, 1].
    outside = np.mean((noisy < 0) | (noisy > 1))
    assert outside > 0.2
    assert noisy.min() < -1.0 and noisy.max() > 2.0


def test_gaussian_noise_clipped():
    clean = clean_images()
    unclipped = corrupt(clean, "gaussian", 0.55, False, np.random.default_rng(1))
    clipped = corrupt(clean, "gaussian", 0.55, True, np.random.default_rng(1))
    assert clipped.min() >= 0.0 and clipped.max() <= 1.0
    np.testing.assert_array_equal(clipped, np.clip(unclipped, 0, 1))


@pytest.mark.parametrize("share", [0.1, 0.3, 0.6])
def test_salt_and_pepper_hits_the_requested_share(share):
    clean = np.full(SHAPE, 0.5, dtype=np.float32)
    noisy = corrupt(clean, "salt-and-pepper", share, False, np.random.default_rng(2))
    hit = noisy != 0.5
    assert hit.mean() == pytest.approx(share, abs=0.005)
    assert set(np.unique(noisy[hit])) <= {0.0, 1.0}
    assert np.mean(noisy[hit] == 1.0) == pytest.approx(0.5, abs=0.01)  # as much salt as pepper


@pytest.mark.parametrize("share", [0.2, 0.5])
def test_masking_hits_the_requested_share(share):
    clean = np.full(SHAPE, 0.7, dtype=np.float32)
    noisy = corrupt(clean, "masking", share, False, np.random.default_rng(3))
    assert np.mean(noisy == 0.0) == pytest.approx(share, abs=0.005)
    assert set(np.unique(noisy)) == {0.0, np.float32(0.7)}


def test_no_noise_is_the_identity_and_unknown_noise_is_an_error():
    clean = clean_images()
    assert corrupt(clean, "none", 0.5, False, np.random.default_rng(0)) is clean
    assert corrupt(clean, "gaussian", 0.0, False, np.random.default_rng(0)) is clean
    with raises_one_line(ConfigError, r"noise 'speckle' is unknown; choose one of none, gaussian, salt-and-pepper, masking"):
        corrupt(clean, "speckle", 0.5, False, np.random.default_rng(0))


# ------------------------------------------------------------------------------------ a tiny DAE


def test_dae_denoises(dae_run):
    metrics = dae_run.read_metrics()
    assert metrics["status"] == "complete"
    # The chapter's unclipped gaussian: the noisy inputs' MSE is the noise variance.
    assert metrics["noisy_mse"] == pytest.approx(0.55 ** 2, rel=0.02)
    # The output is closer to the clean image than the input, and beats the per-pixel mean.
    assert metrics["test_mse"] < metrics["noisy_mse"] / 3
    assert metrics["test_mse"] < metrics["baseline_mean_mse"]
    assert metrics["test_psnr_db"] > metrics["noisy_psnr_db"]
    assert metrics["test_psnr_db"] == pytest.approx(10 * np.log10(1 / metrics["test_mse"]), rel=1e-6)
    assert 0 < metrics["test_ssim"] <= 1
    losses = [row["loss"] for row in dae_run.read_history()]
    assert losses[-1] < losses[0]


def _ratio(path):
    with Image.open(path) as picture:
        return picture.width, picture.height, picture.width / picture.height


def test_dae_figures(dae_run):
    for name in ("reconstructions.png", "denoising.png", "curves.png", "latent.png"):
        with Image.open(dae_run.figures / name) as picture:
            picture.verify()
    # 10 test digits per row: 2 rows (original, reconstructed) and 3 rows (noisy, denoised, original).
    # The chapter's figure is 20 x 6 inches per 2 rows; saved with a tight bounding box the
    # whitespace above and below the square digits is trimmed, so the ratio lies between
    # 20/6 (figure size) and 10/2 (the digits alone).
    two_w, two_h, two = _ratio(dae_run.figures / "reconstructions.png")
    three_w, three_h, three = _ratio(dae_run.figures / "denoising.png")
    assert 20 / 6 * 0.9 < two < 10 / 2 * 1.05
    assert 20 / 9 * 0.9 < three < 10 / 3 * 1.05
    assert abs(two_w - three_w) <= 0.02 * two_w          # the same 10 columns
    assert 1.35 < three_h / two_h < 1.8                   # 3 rows against 2


# ------------------------------------------------------------------------------------ commands on the run


def ink_on_paper(path, size=(100, 80)):
    """A white RGB picture with a dark diagonal stroke, like a photographed handwritten digit."""
    picture = Image.new("RGB", size, "white")
    ImageDraw.Draw(picture).line([(30, 10), (70, 70)], fill=(20, 20, 20), width=8)
    picture.save(path)
    return path


def test_denoise_a_png(dae_run, tmp_path, capsys):
    source = ink_on_paper(tmp_path / "digit.png")
    out = tmp_path / "out.png"
    assert cli.main(["denoise", str(dae_run.path), str(source), "--out", str(out)]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    with Image.open(out) as picture:
        width, height = picture.size
        pixels = np.asarray(picture.convert("L"), dtype=np.float32) / 255
    assert width == 2 * height  # input | output, side by side
    left, right = pixels[:, : width // 2], pixels[:, width // 2:]
    # The input was inverted to MNIST polarity: mostly dark with a bright stroke.
    assert left.mean() < 0.3 and left.max() > 0.7
    assert not np.array_equal(left, right)


def test_denoise_default_output_name(dae_run, tmp_path):
    source = ink_on_paper(tmp_path / "scan.png", size=(60, 60))
    assert cli.main(["denoise", str(dae_run.path), str(source)]) == 0
    assert (tmp_path / "scan-denoised.png").is_file()


def test_denoise_a_text_file_is_a_clear_error(dae_run, tmp_path, capsys):
    notes = tmp_path / "notes.txt"
    notes.write_text("not a picture\n")
    assert cli.main(["denoise", str(dae_run.path), str(notes)]) == 2
    line = cli_error(capsys)
    assert "notes.txt is not an image genlab can read" in line
    assert "PNG" in line


def test_denoise_missing_input(dae_run, tmp_path, capsys):
    assert cli.main(["denoise", str(dae_run.path), str(tmp_path / "absent.png")]) == 2
    assert "absent.png does not exist" in cli_error(capsys)


def test_denoise_needs_a_dae_run(ae_run, tmp_path, capsys):
    source = ink_on_paper(tmp_path / "digit.png")
    assert cli.main(["denoise", str(ae_run.path), str(source)]) == 2
    assert "denoise needs a dae run" in cli_error(capsys)


def test_reconstruct_an_npy_batch(ae_run, tmp_path, capsys):
    batch = np.random.default_rng(0).integers(0, 256, (3, 28, 28), dtype=np.uint8)
    source = tmp_path / "batch.npy"
    np.save(source, batch)
    out = tmp_path / "rec.png"
    assert cli.main(["reconstruct", str(ae_run.path), str(source), "--out", str(out)]) == 0
    assert "3 image(s)" in capsys.readouterr().out
    with Image.open(out) as picture:
        width, height = picture.size
    assert (width * 3) == (height * 2)  # 3 rows of (input | output)


def test_reconstruct_a_wrong_shape_npy(ae_run, tmp_path, capsys):
    source = tmp_path / "wrong.npy"
    np.save(source, np.zeros((2, 10, 10)))
    assert cli.main(["reconstruct", str(ae_run.path), str(source)]) == 2
    assert "holds an array of shape (2, 10, 10)" in cli_error(capsys)


def test_interpolate(dae_run, tmp_path, capsys):
    assert cli.main(["interpolate", str(dae_run.path), "1", "2"]) == 0
    # Default output beside the run's figures, never over a training figure.
    assert (dae_run.path / "generated" / "interpolation-steps10-seed0.png").is_file()
    out = tmp_path / "strip.png"
    assert cli.main(["interpolate", str(dae_run.path), "3", "4", "--steps", "5", "--out", str(out)]) == 0
    with Image.open(out) as picture:
        assert picture.width > 3 * picture.height  # one row of 7 images
    capsys.readouterr()
    assert cli.main(["interpolate", str(dae_run.path), "1", "99999"]) == 2
    assert "test index 99999 is out of range" in cli_error(capsys)


def test_sample_grid_and_npz(dae_run, tmp_path, capsys):
    png, npz = tmp_path / "x.png", tmp_path / "x.npz"
    assert cli.main(["sample", str(dae_run.path), "-n", "16", "--out", str(png), "--npz", str(npz), "--seed", "5"]) == 0
    assert png.is_file()
    with np.load(npz) as saved:
        images = saved["images"]
    assert images.shape == (16, 28, 28, 1) and images.dtype == np.float32
    assert images.min() >= 0 and images.max() <= 1
    assert "16 images" in capsys.readouterr().out


def test_evaluate_own_check(dae_run, capsys):
    # The family's own test-set check (what `genlab evaluate RUN` runs before sample quality).
    run = dae_run
    trained_mse = run.read_metrics()["test_mse"]
    result = api.evaluate(run.path, count=200, reference=False)
    assert result.family_metrics["evaluate_test_mse"] == pytest.approx(trained_mse, rel=0.05)
    # A new noise draw on the same test set: close to the training-time figure, which is kept.
    metrics = run.read_metrics()
    assert metrics["evaluate_test_mse"] == pytest.approx(trained_mse, rel=0.05)
    assert metrics["test_mse"] == trained_mse


def test_evaluate_noise_sweep(dae_run, capsys):

    assert cli.main(["evaluate", str(dae_run.path), "--noise-sweep"]) == 0
    assert "noise sweep" in capsys.readouterr().out
    metrics = json.loads((dae_run.path / "metrics.json").read_text())
    sweep = metrics["noise_sweep"]
    assert len(sweep) == 8
    assert [entry["noise_factor"] for entry in sweep] == pytest.approx([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8])
    input_mse = [entry["input_mse"] for entry in sweep]
    assert input_mse == pytest.approx([factor ** 2 for factor in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)], rel=0.03)
    assert all(np.diff(input_mse) > 0)
    # At the heavy end, the output is far closer to the clean digits than the input.
    assert sweep[-1]["output_mse"] < sweep[-1]["input_mse"] / 4
    assert metrics["status"] == "complete"  # evaluate adds, it does not overwrite
