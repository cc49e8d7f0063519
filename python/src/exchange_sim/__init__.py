"""Run exchange-simulator from Python test suites.

- `Simulator` starts the exchange-sim binary on a free port and stops it.
- `Admin` aims and counts faults over the admin API, and reads the exchange's truth over REST.
- `ResilientClient` trades through faults and keeps a true view of its account and books.
- `differences` says whether a client's view equals the exchange's truth.
- The pytest plugin (`exchange_sim.pytest_plugin`, registered on install) gives each test a fresh
  simulator: the `exchange_sim` fixture and the `exchange_sim` marker.
"""

from .account import AccountView, Balance, Fill, Order
from .admin import Admin
from .book import OrderBook, book_checksum
from .client import ResilientClient
from .errors import (
    ApiError,
    AuthFailed,
    ExchangeSimError,
    OrderRejected,
    RequestError,
    SimulatorError,
)
from .locate import find_binary, find_scenario
from .simulator import Simulator
from .stats import Stats
from .verify import differences

__all__ = [
    "AccountView",
    "Admin",
    "ApiError",
    "AuthFailed",
    "Balance",
    "ExchangeSimError",
    "Fill",
    "Order",
    "OrderBook",
    "OrderRejected",
    "RequestError",
    "ResilientClient",
    "Simulator",
    "SimulatorError",
    "Stats",
    "book_checksum",
    "differences",
    "find_binary",
    "find_scenario",
]
