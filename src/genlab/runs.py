"""Run folders: everything one training run leaves behind.

    runs/<family>-<YYYYmmdd-HHMMSS>/
        config.toml      the resolved config (family, preset, every key)
        history.csv      one row per epoch (fit families) or per logging window (GANs)
        metrics.json     final test metrics, train_wall_s, status ("complete"/"failed")
        figures/         PNGs (and the GAN's progress.gif)
        model.keras      the trained model (generator.keras/discriminator.keras for GANs)
        checkpoints/     resumable state (GANs)
        logs/            TensorBoard event files

Every file is written atomically (genlab.io), so a crash never leaves a half-written artefact.
A file damaged some other way (a disk error, a hand edit) is one RunError naming it when it is
needed, never a traceback, and genlab never writes over it: config.toml when the run is opened,
metrics.json when it is read or updated, history.csv only when training appends to it (so
`genlab sample` and `evaluate` still work on a run whose training log is damaged).
"""
from __future__ import annotations

import csv
import datetime as _dt
import io as _stdio
import json
import os
from pathlib import Path
from typing import Any

from genlab import io
from genlab.errors import RunError


class Run:
    def __init__(self, path: Path):
        self.path = Path(path)
        self._history_fields: list[str] | None = None
        # None until first needed: history.csv is read only by what appends to it (training, resume).
        self._history_rows: list[dict[str, Any]] | None = None
        # The name of a shipped pretrained model (genlab.pretrained) opened as "pretrained:NAME":
        # its folder is inside the package, verified by SHA-256, and never written.
        self.pretrained: str | None = None

    # ---- creation and opening -------------------------------------------------------
    @classmethod
    def create(cls, family: str, out: str | Path | None = None, root: str | Path = "runs") -> "Run":
        from genlab import outputs

        if out is None:
            outputs.check_parent_folder(root, "--runs-dir")
            stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
            path = Path(root) / f"{family}-{stamp}"
            suffix = 1
            while path.exists():  # two runs in the same second get distinct folders
                suffix += 1
                path = Path(root) / f"{family}-{stamp}-{suffix}"
        else:
            path = Path(out)
            if unfinished_without_checkpoint(path):
                # Stopped before its first checkpoint: nothing in it can be resumed or used, and all
                # of it is genlab's own, so a new training may take the folder over.
                clear_unfinished(path)
            elif path.is_dir() and (path / "config.toml").is_file():
                raise RunError(f"--out {path} is already a run folder; choose another --out, or go on training it with "
                               f"--resume {path}")
            else:
                outputs.folder_target(path, option="--out")
        try:
            (path / "figures").mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise RunError(f"cannot create run folder {path}: {error.strerror}; choose a writable --out") from error
        return cls(path)

    @classmethod
    def open(cls, path: str | Path) -> "Run":
        """A run folder, or a shipped model named "pretrained:NAME" (the one place such names are
        resolved, so every command that takes a run takes one too)."""
        from genlab import pretrained

        if pretrained.is_reference(path):
            run = cls(pretrained.resolve(path))
            run.pretrained = str(path)[len(pretrained.PREFIX):]
            return run
        path = Path(path)
        if not (path / "config.toml").is_file():
            raise RunError(f"{path} is not a genlab run folder (no config.toml); pass the folder a 'genlab train' run wrote")
        return cls(path)

    # ---- paths ------------------------------------------------------------------------
    @property
    def figures(self) -> Path:
        return self.path / "figures"

    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    @property
    def logs(self) -> Path:
        return self.path / "logs"

    def file(self, name: str) -> Path:
        """A path inside the run folder; names from configs can never escape it."""
        candidate = (self.path / name).resolve()
        if self.path.resolve() not in candidate.parents and candidate != self.path.resolve():
            raise RunError(f"path '{name}' would leave the run folder {self.path}; use a plain file name")
        return candidate

    # ---- config -----------------------------------------------------------------------
    def read_header(self) -> dict[str, Any]:
        """config.toml as a dict (family, preset, [config]); a damaged file is one RunError naming it and the line."""
        from genlab import config

        return config.read_toml_document(self.path / "config.toml", run_file=True)

    @property
    def family_name(self) -> str:
        family = self.read_header().get("family")
        if not isinstance(family, str):
            raise RunError(f"{self.path / 'config.toml'} is damaged (it names no family); restore it from a copy or start a new run")
        return family

    # ---- history ----------------------------------------------------------------------
    def _load_history(self) -> list[dict[str, Any]]:
        if self._history_rows is None:
            self._history_rows = self.read_history()
            if self._history_rows:
                self._history_fields = list(self._history_rows[0])
        return self._history_rows

    def log(self, row: dict[str, Any]) -> None:
        """Append one row to history.csv (rewritten atomically: it is small)."""
        self._load_history()
        if self._history_fields is None:
            self._history_fields = list(row)
        for key in row:
            if key not in self._history_fields:
                self._history_fields.append(key)
        self._history_rows.append(dict(row))
        self._write_history()

    def truncate_history(self, keep: callable) -> None:
        """Keep only rows for which keep(row) is true (used by resume)."""
        self._history_rows = [row for row in self._load_history() if keep(row)]
        self._write_history()

    def _write_history(self) -> None:
        buffer = _stdio.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=self._history_fields or [], lineterminator="\n")
        writer.writeheader()
        for row in self._history_rows:
            writer.writerow({key: _format(value) for key, value in row.items()})
        io.write_text(self.path / "history.csv", buffer.getvalue())

    def read_history(self) -> list[dict[str, Any]]:
        """history.csv's rows ([] when there is none); a damaged file is one RunError naming it and the line."""
        path = self.path / "history.csv"
        if not path.is_file():
            return []
        fix = "restore it from a copy, or delete it to go on without the earlier rows"
        try:
            with open(path, newline="", encoding="utf-8") as handle:
                reader = csv.DictReader(handle)
                rows = []
                for row in reader:
                    # DictReader files surplus cells under None and fills missing ones with None; genlab
                    # writes every cell ("" when a row has no value), so either means the file was damaged.
                    if None in row or None in row.values():
                        raise RunError(f"{path} is damaged (line {reader.line_num} has {'more' if None in row else 'fewer'} cells "
                                       f"than the header); {fix}")
                    rows.append({key: _parse(value) for key, value in row.items()})
                return rows
        except UnicodeDecodeError as error:
            raise RunError(f"{path} is damaged (not UTF-8 text); {fix}") from error
        except csv.Error as error:
            raise RunError(f"{path} is damaged ({error}); {fix}") from error
        except OSError as error:
            raise RunError(f"cannot read {path}: {error.strerror}; check the file's permissions") from error

    # ---- metrics ----------------------------------------------------------------------
    @property
    def metrics(self) -> dict[str, Any]:
        """metrics.json as a dict (test metrics, timings, status): read afresh on each access."""
        return self.read_metrics()

    def read_metrics(self) -> dict[str, Any]:
        """metrics.json ({} when there is none yet); a damaged file is one RunError, and is never written over."""
        path = self.path / "metrics.json"
        if not path.is_file():
            return {}
        fix = "restore it from a copy, or delete it (the next train --resume or evaluate writes a new one)"
        try:
            metrics = json.loads(path.read_bytes().decode("utf-8"))
        except json.JSONDecodeError as error:
            raise RunError(f"{path} is damaged ({error.msg} at line {error.lineno}, column {error.colno}); {fix}") from error
        except UnicodeDecodeError as error:
            raise RunError(f"{path} is damaged (not UTF-8 text); {fix}") from error
        except OSError as error:
            raise RunError(f"cannot read {path}: {error.strerror}; check the file's permissions") from error
        if not isinstance(metrics, dict):
            raise RunError(f"{path} is damaged (not a JSON object); {fix}")
        return metrics

    def update_metrics(self, values: dict[str, Any]) -> dict[str, Any]:
        metrics = self.read_metrics()
        metrics.update(values)
        if self.pretrained is not None:
            return metrics   # a shipped model's files are pinned: the new values are returned, not written
        io.write_json(self.path / "metrics.json", metrics)
        return metrics

    # ---- models -----------------------------------------------------------------------
    def save_model(self, model, name: str = "model.keras") -> Path:
        target = self.file(name)
        with io.atomic_path(target) as tmp:
            model.save(tmp)
        return target

    def load_model(self, name: str = "model.keras"):
        """A saved model for inference (sampling, reconstructing, exporting): loaded once per file
        content and reused, never to be trained further."""
        from genlab.models import load_inference_model

        path = self.file(name)
        if self.pretrained is not None and not path.is_file():
            # A pretrained copy may ship part of a model (a conv VAE: its decoder only, to stay small).
            shipped = sorted(file for file in os.listdir(self.path) if file.endswith(".keras"))
            raise RunError(f"pretrained:{self.pretrained} ships {', '.join(shipped)} only, not {name}, which this needs; "
                           f"train your own with its command (genlab pretrained lists it)")
        return load_inference_model(path)

    # Where a run's image shape is read from: the first of these files it holds (a decoder's or a
    # generator's output, a density's or a flow's input).
    IMAGE_SHAPE_SOURCES = (("decoder.keras", "output"), ("model.keras", "input"), ("generator.keras", "output"))

    def image_shape(self) -> tuple[int, int, int]:
        """H x W x C of the images this run's networks model (a dense network's flat 784: 28 x 28 x 1)."""
        from genlab.exporting import image_shape

        for name, side in self.IMAGE_SHAPE_SOURCES:
            if (self.path / name).is_file():
                model = self.load_model(name)
                return image_shape(model.output_shape[1:] if side == "output" else model.inputs[0].shape[1:])
        names = ", ".join(name for name, _ in self.IMAGE_SHAPE_SOURCES)
        raise RunError(f"{self.path} holds none of {names}, so its image size is unknown; the run is unfinished or damaged "
                       "(retrain it)")


# What a training writes before its first checkpoint (all of it genlab's own).
_EARLY_ENTRIES = {"config.toml", "metrics.json", "history.csv", "figures", "logs", "checkpoints"}


def unfinished_without_checkpoint(path: Path) -> bool:
    """A run folder whose training was interrupted or failed before it wrote a checkpoint or a
    model: `--resume` starts it again from the beginning, and a new `--out` may reuse the folder."""
    path = Path(path)
    if not (path / "config.toml").is_file() or not (path / "metrics.json").is_file():
        return False
    try:
        status = json.loads((path / "metrics.json").read_text(encoding="utf-8")).get("status")
        entries = {entry.name for entry in path.iterdir()}
        checkpoints = list((path / "checkpoints").iterdir()) if (path / "checkpoints").is_dir() else []
    except (OSError, ValueError, AttributeError):
        return False
    return status in ("interrupted", "failed") and entries <= _EARLY_ENTRIES and not checkpoints


def clear_unfinished(path: Path) -> None:
    """Remove what an unfinished training wrote (see unfinished_without_checkpoint), keeping the folder."""
    import shutil

    for name in sorted(_EARLY_ENTRIES):
        entry = Path(path) / name
        try:
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            elif entry.exists() or entry.is_symlink():
                entry.unlink()
        except OSError as error:
            raise RunError(f"cannot clear the unfinished run {path}: {error.strerror}; remove it by hand or choose another --out") from error


def _format(value):
    if isinstance(value, float):
        return f"{value:.6g}"
    return value


def _parse(text: str):
    for kind in (int, float):
        try:
            return kind(text)
        except (TypeError, ValueError):
            pass
    return text
