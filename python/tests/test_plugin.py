"""The pytest plugin, run by pytest itself (pytester): the fixture, the marker, indirect
parametrisation, the options, and what a failing test reports."""

from __future__ import annotations

from pathlib import Path

import pytest
from exchange_sim import SimulatorError, find_scenario
from support import SCENARIOS

# One word: as two, pytest would take the directory for a test path and keep its cache there.
SCENARIO_OPTION = (f"--exchange-sim-scenarios={SCENARIOS}",)


def test_each_test_gets_a_fresh_simulator_with_seed_1(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        def test_first(exchange_sim):
            assert exchange_sim.seed == 1
            assert exchange_sim.admin.health()["status"] == "ok"
            exchange_sim.admin.put_faults({"enabled": True, "modes": {}})

        def test_second(exchange_sim):
            assert exchange_sim.admin.faults()["enabled"] is False
    """)
    pytester.runpytest().assert_outcomes(passed=2)


def test_the_marker_picks_a_scenario_a_seed_and_a_config(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import pytest

        @pytest.mark.exchange_sim(scenario="flaky_mobile", seed=42,
                                  config={"accounts": {"alice": {"api_key": "alice-key"}}})
        def test_marked(exchange_sim):
            assert exchange_sim.seed == 42
            faults = exchange_sim.admin.faults()
            assert faults["enabled"] and "silent_connection" in faults["modes"]
            assert "alice" in {a["account"] for a in exchange_sim.admin.accounts()}
    """)
    pytester.runpytest(*SCENARIO_OPTION).assert_outcomes(passed=1)


def test_indirect_parametrisation_runs_a_test_under_each_scenario(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile("""
        import pytest

        @pytest.mark.parametrize("exchange_sim", [{"scenario": "fill_chaos"},
                                                  {"scenario": "congested_exchange", "seed": 3}],
                                 indirect=True)
        def test_each(exchange_sim):
            assert exchange_sim.admin.faults()["enabled"]
    """)
    pytester.runpytest(*SCENARIO_OPTION).assert_outcomes(passed=2)


def test_a_failing_test_reports_the_seed_and_the_servers_log(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        def test_fails(exchange_sim):
            assert False
    """)
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*Captured exchange-sim setup*", "seed 1, ws://127.0.0.1:*/ws, log *exchange-sim.log"]
    )


def test_the_binary_option_and_bad_markers_are_errors(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    pytester.makepyfile("""
        import pytest

        def test_plain(exchange_sim):
            pass

        @pytest.mark.exchange_sim(senario="flaky_mobile")
        def test_misspelt(exchange_sim):
            pass

        @pytest.mark.exchange_sim(scenario="no_such_scenario")
        def test_unknown_scenario(exchange_sim):
            pass
    """)
    result = pytester.runpytest(*SCENARIO_OPTION)
    result.assert_outcomes(passed=1, errors=2)
    result.stdout.fnmatch_lines(
        ["*exchange_sim takes only the keywords*", "*no scenario 'no_such_scenario'*"]
    )
    result = pytester.runpytest("--exchange-sim-bin", str(tmp_path / "missing"))
    result.assert_outcomes(errors=3)
    result.stdout.fnmatch_lines(["*missing is not an executable file*"])


def test_named_scenarios_are_found_in_the_repository_of_the_binary(tmp_path: Path) -> None:
    (tmp_path / "Cargo.toml").touch()
    (tmp_path / "examples" / "faults").mkdir(parents=True)
    (tmp_path / "examples" / "faults" / "mine.json").write_text("{}")
    binary = tmp_path / "target" / "release" / "exchange-sim"
    assert find_scenario("mine", binary=binary) == tmp_path / "examples" / "faults" / "mine.json"
    assert find_scenario(str(SCENARIOS / "fill_chaos.json")) == SCENARIOS / "fill_chaos.json"
    with pytest.raises(SimulatorError, match="known: mine"):
        find_scenario("yours", binary=binary, directory=tmp_path / "examples" / "faults")
