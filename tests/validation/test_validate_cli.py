"""``abm validate`` on bad input and when stopped: one line, and no folder left behind."""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path

import pytest
from support import terminate_once

from abm.cli import main
from abm.config import load_config


@pytest.mark.parametrize(
    ("config", "fragment"),
    [("no/such.toml", "config file not found"), ("bad.toml", "not valid TOML")],
)
def test_a_bad_config_stops_before_the_output_folder_is_made(tmp_path, capsys, config, fragment):
    (tmp_path / "bad.toml").write_text("x = [\n")
    out = tmp_path / "results" / "validation"
    path = config if config.startswith("no/") else str(tmp_path / config)
    assert main(["validate", "--config", path, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and fragment in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.toml"]


def test_an_interrupt_while_the_output_folders_are_made_leaves_none(tmp_path, monkeypatch, capsys):
    """Stopped after ``results/`` is made and before ``results/validation/``."""
    out = tmp_path / "results" / "validation"
    real_mkdir = os.mkdir

    def mkdir(path, *args, **kwargs):
        if Path(path) == out and out.parent.exists():
            raise KeyboardInterrupt
        return real_mkdir(path, *args, **kwargs)

    monkeypatch.setattr(os, "mkdir", mkdir)
    assert main(["validate", "--steps", "24", "--seeds", "1", "--out", str(out)]) == 130
    assert capsys.readouterr().err == "abm: interrupted\n"
    assert list(tmp_path.iterdir()) == []


def test_config_with_hypotheses_is_refused_like_set(tmp_path, capsys):
    out = tmp_path / "val"
    args = ["validate", "--hypotheses", "--only", "H1", "--out", str(out)]
    assert main([*args, "--config", "configs/baseline.toml"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--config: applies to the calibration report" in err
    assert not out.exists()


def test_the_help_example_switch_is_really_off_in_the_baseline(capsys):
    with pytest.raises(SystemExit):
        main(["validate", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    key, value = re.search(
        r"--set ([\w.]+)=(\w+) \(a switch that is off in the baseline\)", text
    ).groups()
    section, name = key.split(".")
    assert value == "true" and getattr(getattr(load_config(None), section), name) is False


@pytest.mark.slow
def test_sigterm_while_validating_exits_143_and_leaves_no_folder(tmp_path):
    """The report is written only after every seed has run: stopped before that, the
    folder this command created is removed again. The signal is sent once the folder
    exists (polled), whenever that is."""
    out = tmp_path / "results" / "validation"
    code, err = terminate_once(
        "validate",
        "--seeds",
        "100",
        "--steps",
        "24",
        "--out",
        str(out),
        cwd=tmp_path,
        started=out.exists,
    )
    assert code == 128 + signal.SIGTERM, err
    assert err.strip() == "abm: terminated"
    assert list(tmp_path.iterdir()) == []
