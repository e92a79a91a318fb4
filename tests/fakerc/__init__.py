"""An in-process fake Rocket.Chat for tests: real REST and DDP wire protocol, OpenAPI-validated, with faults."""

from .faults import Faults
from .openapi import Violation
from .server import FakeRocketChat, LoggedRequest

__all__ = ["FakeRocketChat", "Faults", "LoggedRequest", "Violation"]
