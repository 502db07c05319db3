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
"""
from __future__ import annotations

import csv
import datetime as _dt
import io as _stdio
import json
from pathlib import Path
from typing import Any

from genlab import io
from genlab.errors import RunError


class Run:
    def __init__(self, path: Path):
        self.path = Path(path)
        self._history_fields: list[str] | None = None
        self._history_rows: list[dict[str, Any]] = []

    # ---- creation and opening -------------------------------------------------------
    @classmethod
    def create(cls, family: str, out: str | Path | None = None, root: str | Path = "runs") -> "Run":
        if out is None:
            stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
            path = Path(root) / f"{family}-{stamp}"
            suffix = 1
            while path.exists():  # two runs in the same second get distinct folders
                suffix += 1
                path = Path(root) / f"{family}-{stamp}-{suffix}"
        else:
            path = Path(out)
            if path.exists() and any(path.iterdir()):
                raise RunError(f"output folder {path} already exists and is not empty; choose another --out or use --resume {path}")
        try:
            (path / "figures").mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise RunError(f"cannot create run folder {path}: {error.strerror}; choose a writable --out") from error
        return cls(path)

    @classmethod
    def open(cls, path: str | Path) -> "Run":
        path = Path(path)
        if not (path / "config.toml").is_file():
            raise RunError(f"{path} is not a genlab run folder (no config.toml); pass the folder a 'genlab train' run wrote")
        run = cls(path)
        run._history_rows = run.read_history()
        if run._history_rows:
            run._history_fields = list(run._history_rows[0])
        return run

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
        import tomllib

        return tomllib.loads((self.path / "config.toml").read_text(encoding="utf-8"))

    @property
    def family_name(self) -> str:
        return self.read_header()["family"]

    # ---- history ----------------------------------------------------------------------
    def log(self, row: dict[str, Any]) -> None:
        """Append one row to history.csv (rewritten atomically: it is small)."""
        if self._history_fields is None:
            self._history_fields = list(row)
        for key in row:
            if key not in self._history_fields:
                self._history_fields.append(key)
        self._history_rows.append(dict(row))
        self._write_history()

    def truncate_history(self, keep: callable) -> None:
        """Keep only rows for which keep(row) is true (used by resume)."""
        self._history_rows = [row for row in self._history_rows if keep(row)]
        self._write_history()

    def _write_history(self) -> None:
        buffer = _stdio.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=self._history_fields or [], lineterminator="\n")
        writer.writeheader()
        for row in self._history_rows:
            writer.writerow({key: _format(value) for key, value in row.items()})
        io.write_text(self.path / "history.csv", buffer.getvalue())

    def read_history(self) -> list[dict[str, Any]]:
        path = self.path / "history.csv"
        if not path.is_file():
            return []
        with open(path, newline="", encoding="utf-8") as handle:
            return [{key: _parse(value) for key, value in row.items()} for row in csv.DictReader(handle)]

    # ---- metrics ----------------------------------------------------------------------
    @property
    def metrics(self) -> dict[str, Any]:
        """metrics.json as a dict (test metrics, timings, status): read afresh on each access."""
        return self.read_metrics()

    def read_metrics(self) -> dict[str, Any]:
        path = self.path / "metrics.json"
        if not path.is_file():
            return {}
        return json.loads(path.read_text(encoding="utf-8"))

    def update_metrics(self, values: dict[str, Any]) -> dict[str, Any]:
        metrics = self.read_metrics()
        metrics.update(values)
        io.write_json(self.path / "metrics.json", metrics)
        return metrics

    # ---- models -----------------------------------------------------------------------
    def save_model(self, model, name: str = "model.keras") -> Path:
        target = self.file(name)
        with io.atomic_path(target) as tmp:
            model.save(tmp)
        return target

    def load_model(self, name: str = "model.keras"):
        from genlab.models import load_model

        return load_model(self.file(name))


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
