"""`Simulator`: one exchange-sim process for a test. It starts the binary on a free port (the
address is read from what the binary prints, never assumed), waits until REST answers, and stops
it with SIGTERM (then SIGKILL after a timeout). Its log (stderr) is kept in a file, so a failed
test can be read afterwards."""

from __future__ import annotations

import asyncio
import json
import os
import queue
import re
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import IO, Any

from .admin import Admin
from .errors import SimulatorError
from .locate import find_binary

_SEED_LINE = re.compile(r"exchange-sim: seed (\d+)")
_LISTEN_LINE = re.compile(r"exchange-sim: listening on (ws://(\S+?)/ws)")
HEALTH_POLL_S = 0.02  # between health checks of a server that said it listens
LOG_TAIL_LINES = 20  # of the log, quoted when start-up fails

Config = dict[str, Any]


class Simulator:
    """An exchange-sim process. Use `with Simulator(config, seed=42) as sim:` (or `async with`).

    `config` is a dict (written to a file) or the path of a config file, or None for the embedded
    defaults; `seed` is the master seed (None lets the binary pick one: `.seed` tells which).
    `work_dir` receives the config file and the log (a fresh temporary folder by default, kept
    after the stop so the log can be read).
    """

    def __init__(
        self,
        config: Config | str | os.PathLike[str] | None = None,
        *,
        seed: int | None = None,
        binary: str | os.PathLike[str] | None = None,
        work_dir: str | os.PathLike[str] | None = None,
        start_timeout_s: float = 10.0,
        stop_timeout_s: float = 5.0,
    ) -> None:
        self.config = config
        self.requested_seed = seed
        self.binary = find_binary(binary)
        self.work_dir = (
            Path(work_dir) if work_dir else Path(tempfile.mkdtemp(prefix="exchange-sim-"))
        )
        self.log_path = self.work_dir / "exchange-sim.log"
        self.start_timeout_s = start_timeout_s
        self.stop_timeout_s = stop_timeout_s
        self.seed: int | None = None
        self.url = ""  # ws://HOST:PORT/ws once started
        self.http = ""  # http://HOST:PORT once started
        self.returncode: int | None = None
        self._process: subprocess.Popen[str] | None = None
        self._log: IO[str] | None = None
        self._pump: threading.Thread | None = None
        self._admin: Admin | None = None

    @property
    def admin(self) -> Admin:
        """The admin API and REST client of this simulator."""
        if self._admin is None:
            raise SimulatorError("the simulator is not started")
        return self._admin

    @property
    def port(self) -> int:
        return int(self.http.rsplit(":", 1)[1])

    def start(self) -> Simulator:
        """Starts the process and returns once it answers `GET /api/v1/health`."""
        if self._process is not None:
            raise SimulatorError("the simulator is already started")
        self.work_dir.mkdir(parents=True, exist_ok=True)
        args = [str(self.binary), "serve", "--port", "0"]
        if self.config is not None:
            args += ["--config", str(self._config_file())]
        if self.requested_seed is not None:
            args += ["--seed", str(self.requested_seed)]
        self._log = open(self.log_path, "w")
        self._process = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._log, text=True
        )
        deadline = time.monotonic() + self.start_timeout_s
        try:
            self._read_address(deadline)
            self._admin = Admin(self.http)
            self._wait_healthy(deadline)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> int | None:
        """Stops the process (SIGTERM, then SIGKILL after `stop_timeout_s`); returns its exit
        code."""
        process, self._process = self._process, None
        if process is not None:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(self.stop_timeout_s)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            self.returncode = process.returncode
            if self._pump is not None:
                self._pump.join(self.stop_timeout_s)  # it ends at the pipe's end, with the process
            if process.stdout is not None:
                process.stdout.close()
        if self._log is not None:
            self._log.close()
            self._log = None
        return self.returncode

    def read_log(self) -> str:
        """The server's log so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    async def __aenter__(self) -> Simulator:
        return await asyncio.to_thread(self.start)

    async def __aexit__(self, *exc_info: object) -> None:
        await asyncio.to_thread(self.stop)

    def _config_file(self) -> Path:
        if not isinstance(self.config, dict):
            return Path(self.config)  # type: ignore[arg-type]
        path = self.work_dir / "config.json"
        path.write_text(json.dumps(self.config, indent=2))
        return path

    def _read_address(self, deadline: float) -> None:
        """Reads stdout until the listening line. A reader thread feeds a queue, so that a binary
        that prints nothing cannot hang the caller past the deadline."""
        assert self._process is not None and self._process.stdout is not None
        lines: queue.Queue[str | None] = queue.Queue()
        stdout = self._process.stdout

        def pump() -> None:
            for line in stdout:
                lines.put(line)
            lines.put(None)

        self._pump = threading.Thread(target=pump, name="exchange-sim stdout", daemon=True)
        self._pump.start()
        while True:
            try:
                line = lines.get(timeout=max(deadline - time.monotonic(), 0))
            except queue.Empty:
                raise self._failure("did not print its address in time") from None
            if line is None:
                self._process.wait(self.stop_timeout_s)
                raise self._failure(f"exited with code {self._process.returncode} while starting")
            if seed := _SEED_LINE.match(line):
                self.seed = int(seed.group(1))
            if listening := _LISTEN_LINE.match(line):
                self.url = listening.group(1)
                self.http = f"http://{listening.group(2)}"
                return

    def _wait_healthy(self, deadline: float) -> None:
        while True:
            try:
                self.admin.health()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise self._failure("does not answer GET /api/v1/health") from None
                time.sleep(HEALTH_POLL_S)

    def _failure(self, what: str) -> SimulatorError:
        tail = "\n".join(self.read_log().splitlines()[-LOG_TAIL_LINES:])
        return SimulatorError(f"{self.binary} {what}; its log ({self.log_path}):\n{tail}")
