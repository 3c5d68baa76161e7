"""apps/triplet_mining.py: --help, a bad strategy in one line, and a short digits run that compares two minings
and flags the collapse that batch-hard mining with a huge learning rate causes."""

from __future__ import annotations

import pytest

from test_apps import load_app, run_app


def test_help(capsys):
    with pytest.raises(SystemExit) as exit_info:
        load_app("triplet_mining").main(["--help"])
    assert exit_info.value.code == 0
    assert "--strategies" in capsys.readouterr().out


def test_a_bad_strategy_is_refused():
    result = run_app("triplet_mining", "--strategies", "hardest")
    assert result.returncode == 2 and "strategies are batch-all" in result.stderr


@pytest.mark.slow
def test_mining_strategies_compared_and_a_collapse_flagged(capsys):
    rows = load_app("triplet_mining").main(["--epochs", "2", "--lr", "0.3", "--strategies", "batch-hard,semi-hard"])
    out = capsys.readouterr().out
    assert set(rows) == {"batch-hard", "semi-hard"}
    assert rows["batch-hard"]["collapsed"] and "WARNING: batch-hard mining collapsed" in out
    semi_hard, batch_hard = rows["semi-hard"], rows["batch-hard"]
    assert not semi_hard["collapsed"] and semi_hard["precision_at_1"] > batch_hard["precision_at_1"]
    assert "mining      precision@1" in out
