"""`genlab run chapter --quick`: the whole chapter end to end, as CI's smoke test."""
import json

from genlab import cli


def test_run_chapter_quick_trains_evaluates_and_reports(tmp_path, capsys):
    out = tmp_path / "chapter"
    assert cli.main(["run", "chapter", "--quick", "--out", str(out), "--samples", "500"]) == 0
    printed = capsys.readouterr().out
    assert "report:" in printed
    for family in ("classifier", "ae", "dae", "gan"):
        metrics = json.loads((out / family / "metrics.json").read_text())
        assert metrics["status"] == "complete", family
    assert json.loads((out / "classifier" / "metrics.json").read_text())["test_accuracy"] > 0.5
    gan = json.loads((out / "gan" / "metrics.json").read_text())
    assert gan["sample_fid"] > 0 and 0 <= gan["sample_precision"] <= 1 and gan["sample_samples"] == 500
    page = (out / "report.html").read_text()
    assert page.count('<section id="run') == 4 and "side by side" in page
