"""The pytest plugin: each test that asks for the `exchange_sim` fixture gets a fresh, started
`Simulator`, stopped after the test. The `exchange_sim` marker says how to start it:

    @pytest.mark.exchange_sim(scenario="flaky_mobile", seed=42, config={"accounts": {...}})
    def test_my_bot(exchange_sim):
        run_my_bot(exchange_sim.url)
        assert exchange_sim.admin.fault_stats()["total_count"] > 0

- `config`: a config dict or the path of a config file (default: the binary's embedded defaults).
- `scenario`: a fault scenario, by name from the repository's `examples/faults/` (or the folder
  of `--exchange-sim-scenarios` / `$EXCHANGE_SIM_SCENARIOS`), or the path of a `.json` file; its
  `failures` section becomes the config's.
- `seed`: the master seed (default 1, so every run replays the same market and faults).

The same keys may come from indirect parametrisation, to run one test under several scenarios:
`@pytest.mark.parametrize("exchange_sim", [{"scenario": "flaky_mobile"}, ...], indirect=True)`.
A failing test's report names the seed, the address and the server's log file.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .locate import BINARY_ENV, SCENARIOS_ENV, find_binary, find_scenario
from .simulator import LOG_TAIL_LINES, Simulator

DEFAULT_SEED = 1
OPTION_KEYS = frozenset({"config", "scenario", "seed"})


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("exchange-sim")
    group.addoption(
        "--exchange-sim-bin",
        metavar="PATH",
        help=f"the exchange-sim binary (default: ${BINARY_ENV}, the repository's target/release "
        "or target/debug build, or exchange-sim on PATH)",
    )
    group.addoption(
        "--exchange-sim-scenarios",
        metavar="DIR",
        help=f"the folder of named fault scenarios (default: ${SCENARIOS_ENV}, or the "
        "repository's examples/faults)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "exchange_sim(config=None, scenario=None, seed=1): how the exchange_sim fixture starts "
        "the simulator (a config dict or file, a fault scenario by name or path, the seed)",
    )


@pytest.fixture
def exchange_sim(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Simulator]:
    """A started simulator of its own for this test (see the module's doc for the marker)."""
    options = _options(request)
    binary = find_binary(request.config.getoption("exchange_sim_bin"))
    config = _config(options, request.config.getoption("exchange_sim_scenarios"), binary)
    simulator = Simulator(
        config,
        seed=options.get("seed", DEFAULT_SEED),
        binary=binary,
        work_dir=tmp_path / "exchange-sim",
    )
    simulator.start()
    request.node.add_report_section(
        "setup", "exchange-sim", f"seed {simulator.seed}, {simulator.url}, log {simulator.log_path}"
    )
    yield simulator
    code = simulator.stop()
    # Killed by our own SIGTERM is a stop too: the binary installs its handler only after it
    # starts listening, so a test that ends at once can stop it before the handler is there.
    if code not in (0, -signal.SIGTERM):
        tail = "\n".join(simulator.read_log().splitlines()[-LOG_TAIL_LINES:])
        pytest.fail(
            f"exchange-sim exited with code {code}; {simulator.log_path}:\n{tail}", pytrace=False
        )


def _options(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The marker's keywords, overridden by an indirect parameter's."""
    marker = request.node.get_closest_marker("exchange_sim")
    options = dict(marker.kwargs) if marker is not None else {}
    options.update(getattr(request, "param", None) or {})
    unknown = set(options) - OPTION_KEYS
    if unknown or (marker is not None and marker.args):
        raise pytest.UsageError(
            f"exchange_sim takes only the keywords {sorted(OPTION_KEYS)}, got {options}"
        )
    return options


def _config(options: dict[str, Any], scenarios: str | None, binary: Path) -> dict[str, Any] | None:
    config = options.get("config")
    if isinstance(config, (str, os.PathLike)):
        config = json.loads(Path(config).read_text())
    config = json.loads(json.dumps(config or {}))  # a copy the scenario may extend
    scenario = options.get("scenario")
    if scenario is not None:
        if "failures" in config:
            raise pytest.UsageError("give failures either in config or as a scenario, not both")
        loaded = json.loads(find_scenario(scenario, scenarios, binary).read_text())
        config["failures"] = loaded.get("failures", loaded)
    return config or None
