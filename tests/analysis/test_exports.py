"""``tracker export``: the same numbers as ``to_dataframe`` in CSV, Parquet and JSON Lines, on
both backends."""

from __future__ import annotations

import io
import json
import math

import pytest
from cli_helpers import run_cli
from test_frames import record

from tracker import Repository
from tracker.analysis.exports import export

pd = pytest.importorskip("pandas")
pytest.importorskip("pyarrow")


@pytest.fixture
def filled(url) -> str:
    repo = Repository(url)
    record(repo)
    repo.start_run("frames", hyperparameters={"layers": [64, 32], "batch_size": 16})
    record(repo, "other")
    return url


def read(path, fmt: str):
    if fmt == "csv":
        return pd.read_csv(path)
    if fmt == "parquet":
        return pd.read_parquet(path)
    return pd.DataFrame([json.loads(line) for line in open(path)])


def values_equal(a, b) -> bool:
    a, b = float(a), float(b)
    return (math.isnan(a) and math.isnan(b)) or a == b


@pytest.mark.parametrize("fmt", ["csv", "parquet", "jsonl"])
def test_export_epochs_equals_the_frame(filled, tmp_path, fmt):
    path = tmp_path / f"epochs.{fmt}"
    out = run_cli("export", "-e", "frames", "--kind", "epochs", "-o", str(path), "--url", filled)
    assert out.code == 0, out.err
    assert "Wrote 19 epochs rows" in out.err
    got = read(path, fmt)
    expected = Repository(filled).to_dataframe("frames", kind="epochs")
    assert list(got.columns) == ["run_id", "epoch", "metric", "value"]
    assert got[["run_id", "epoch"]].values.tolist() == expected[["run_id", "epoch"]].values.tolist()
    assert got["metric"].astype(str).tolist() == expected["metric"].astype(str).tolist()
    for a, b in zip(got["value"], expected["value"], strict=True):
        if fmt == "jsonl" and not math.isfinite(b):
            assert a is None or math.isnan(a)  # JSON has no NaN/inf: null
        else:
            assert values_equal(a, b)


@pytest.mark.parametrize("fmt", ["csv", "parquet", "jsonl"])
def test_export_runs_keeps_types_and_values(filled, tmp_path, fmt):
    path = tmp_path / f"runs.{fmt}"
    out = run_cli("export", "-e", "frames", "-o", str(path), "--url", filled)
    assert out.code == 0, out.err
    got = read(path, fmt)
    expected = Repository(filled).to_dataframe("frames")
    assert list(got.columns) == list(expected.columns)
    assert got["batch_size"].tolist() == [32, 64, 32, 128, 16]
    assert got["val_accuracy_best"].tolist()[:3] == [0.8, 0.6, 0.2]
    layers = got["layers"].tolist()[-1]
    assert layers == ([64, 32] if fmt == "jsonl" else "[64, 32]")
    if fmt == "parquet":
        assert str(got["batch_size"].dtype) == "int64"
        assert str(got["augment"].dtype) == "boolean"
        assert got["loss_last"].tolist()[1] == math.inf


def test_export_to_stdout_and_all_experiments(filled):
    out = run_cli("export", "--kind", "epochs", "--url", filled)
    assert out.code == 0, out.err
    frame = pd.read_csv(io.StringIO(out.out))
    assert len(frame) == 38 and frame["run_id"].nunique() == 8
    out = run_cli("export", "--url", filled)
    assert out.code == 0 and len(pd.read_csv(io.StringIO(out.out))) == 9


def test_export_streams_in_chunks(filled, tmp_path):
    seen = []
    path = tmp_path / "epochs.parquet"
    rows = export(Repository(filled), path, kind="epochs", chunk_rows=7, progress=seen.append)
    assert rows == 38 and seen == [7, 14, 21, 28, 35, 38]
    import pyarrow.parquet as pq

    assert pq.ParquetFile(path).metadata.num_row_groups == 6
    assert len(pd.read_parquet(path)) == 38


def test_empty_export_has_the_columns(url, tmp_path):
    for fmt in ("csv", "parquet"):
        path = tmp_path / f"empty.{fmt}"
        assert export(Repository(url), path, kind="epochs") == 0
        assert list(read(path, fmt).columns) == ["run_id", "epoch", "metric", "value"]


def test_bad_export_arguments(filled, tmp_path):
    tmp_path = tmp_path / "out"
    tmp_path.mkdir()
    out = run_cli("export", "-o", str(tmp_path / "runs.xlsx"), "--url", filled)
    assert out.code == 1 and "cannot tell the format of" in out.err and ".parquet" in out.err
    out = run_cli("export", "--kind", "wide", "--url", filled)
    assert out.code == 1 and out.err.startswith("error: kind must be 'runs' or 'epochs'")
    out = run_cli("export", "-o", str(tmp_path / "no" / "runs.csv"), "--url", filled)
    assert out.code == 1 and "there is no folder" in out.err
    assert list(tmp_path.iterdir()) == []  # nothing half-written left behind
