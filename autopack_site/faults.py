"""Fault points for chaos tests: with AUTOPACK_FAULT=<name> in its environment, a process dies
(as SIGKILL would leave it: no clean-up, no answer) the moment it reaches that point. Never set
outside tests."""

import logging
import os

logger = logging.getLogger(__name__)


def fault_point(name: str) -> None:
    if os.environ.get("AUTOPACK_FAULT") == name:
        logger.warning("fault point reached; the process dies now", extra={"fault": name})
        os._exit(137)
