"""Simulator: starts the binary on free ports, reads its address and seed, stops it cleanly, and
says why when it cannot start."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from exchange_sim import Admin, Simulator, SimulatorError
from support import QUIET


def test_two_simulators_start_on_free_ports_and_stop_cleanly() -> None:
    with Simulator(QUIET, seed=5) as first, Simulator(QUIET, seed=6) as second:
        assert first.port != second.port
        assert first.url == f"ws://127.0.0.1:{first.port}/ws"
        assert first.http == f"http://127.0.0.1:{first.port}"
        assert (first.seed, second.seed) == (5, 6)
        assert first.admin.health()["status"] == "ok"
        assert second.admin.health()["status"] == "ok"
    assert (first.returncode, second.returncode) == (0, 0)
    with pytest.raises(OSError):
        Admin(first.http, timeout_s=1).health()


def test_without_a_seed_the_binary_picks_one_and_says_which() -> None:
    with Simulator(QUIET) as simulator:
        assert isinstance(simulator.seed, int)


def test_a_config_file_and_the_log_live_where_asked(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps(QUIET))
    with Simulator(config, seed=3, work_dir=tmp_path / "run") as simulator:
        assert {a["account"] for a in simulator.admin.accounts()} == {"alice", "bob"}
        assert simulator.log_path == tmp_path / "run" / "exchange-sim.log"
    assert "exchange listening" in simulator.read_log()


def test_a_bad_config_stops_start_up_with_the_key_and_the_log(tmp_path: Path) -> None:
    simulator = Simulator({"server": {"prot": 1}}, work_dir=tmp_path)
    with pytest.raises(SimulatorError, match=r"server\.prot") as failure:
        simulator.start()
    assert "exited with code 2" in str(failure.value)
    assert simulator.returncode == 2


def test_a_missing_binary_is_named(tmp_path: Path) -> None:
    with pytest.raises(SimulatorError, match="not an executable"):
        Simulator(binary=tmp_path / "exchange-sim")


def test_the_async_context_manager_starts_and_stops() -> None:
    async def health_inside() -> dict:
        async with Simulator(QUIET) as simulator:
            return await asyncio.to_thread(simulator.admin.health)

    assert asyncio.run(health_inside())["status"] == "ok"
