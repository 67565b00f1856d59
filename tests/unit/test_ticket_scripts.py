"""The training and evaluation scripts take any labelled set (`--data`), refuse a bad one in one line,
and say when the figures come from the shipped synthetic set."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TRAIN = ROOT / "scripts" / "train_ticket_classifier.py"
EVALUATE = ROOT / "scripts" / "evaluate_ticket_classifier.py"
WORDS = {
    "billing": ["invoice", "refund", "charged", "payment", "receipt"],
    "technical": ["crash", "error", "timeout", "install", "bug"],
}


def own_set(path: Path, count: int = 40) -> Path:
    rows = []
    for n in range(count):
        label = "billing" if n % 2 else "technical"
        words = WORDS[label]
        rows.append(
            {"id": f"own-{n}", "subject": words[n % 5], "body": f"{words[(n + 1) % 5]} {words[(n + 2) % 5]}", "label": label}
        )
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def run(script: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True, check=False, cwd=ROOT)


def test_training_on_a_team_s_own_set_writes_a_model_that_says_where_its_figures_come_from(tmp_path: Path) -> None:
    # Given a labelled set of the team's own
    data = own_set(tmp_path / "own.jsonl")

    # When the training script is run on it
    done = run(TRAIN, "--version", "9.0.0", "--data", str(data), "--models", str(tmp_path))

    # Then a model is written whose metadata names the set as provided, with accuracy, ECE and Brier
    assert done.returncode == 0, done.stderr
    model = json.loads((tmp_path / "ticket-nb-9.0.0.json").read_text())
    assert model["data"]["kind"] == "provided"
    assert model["trained"]["dataset"] == "own.jsonl"
    assert {"accuracy", "expected_calibration_error", "brier_score"} <= set(model["evaluation"])
    assert "Brier score" in done.stdout
    assert "synthetic" not in done.stdout


def test_a_bad_row_stops_training_with_one_line_naming_it(tmp_path: Path) -> None:
    # Given a set whose third line has no label
    data = own_set(tmp_path / "own.jsonl", count=2)
    data.write_text(data.read_text() + json.dumps({"id": "x", "subject": "s", "body": "b"}) + "\n")

    # When the training script is run / Then it exits 2 with one line naming the line and the field, and writes nothing
    done = run(TRAIN, "--version", "9.0.1", "--data", str(data), "--models", str(tmp_path))
    assert done.returncode == 2
    assert done.stderr.strip() == f"error: {data}:3: field 'label' is missing"
    assert not (tmp_path / "ticket-nb-9.0.1.json").exists()


def test_the_evaluation_script_reports_accuracy_and_calibration_and_names_synthetic_data() -> None:
    # Given the shipped model and the shipped set / When evaluated
    done = run(EVALUATE, "--model", "ticket-nb-1.0.0", "--json")

    # Then it reports the held-out figures the model file recorded, and that the set is synthetic
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    model = json.loads((ROOT / "functions" / "triage_ticket" / "models" / "ticket-nb-1.0.0.json").read_text())
    assert report["kind"] == "synthetic"
    assert report["rows"] == "held-out test split"
    assert report["accuracy"] == model["evaluation"]["accuracy"]
    assert report["brier_score"] == model["evaluation"]["brier_score"]


def test_the_evaluation_script_takes_a_team_s_own_set_whole(tmp_path: Path) -> None:
    # Given a set of the team's own / When the shipped model is evaluated on it
    data = own_set(tmp_path / "own.jsonl", count=10)
    done = run(EVALUATE, "--model", "ticket-nb-1.0.0", "--data", str(data))

    # Then every row is used, and the text report names accuracy, calibration and the data
    assert done.returncode == 0, done.stderr
    assert "(all, 10 tickets)" in done.stdout
    assert "expected calibration error" in done.stdout
    assert "as provided" in done.stdout


def test_the_evaluation_script_refuses_an_unknown_model_in_one_line() -> None:
    # Given no such model / When evaluated / Then one line says which
    done = run(EVALUATE, "--model", "ticket-nb-0.0.9")
    assert done.returncode == 2
    assert done.stderr.strip().startswith("error: --model: no model file ")
