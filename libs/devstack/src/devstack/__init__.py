"""The whole stack on one machine: `python -m devstack` (make run) and the `Stack` API."""

from devstack.config import Ports, StackConfig
from devstack.gateway import RateLimit
from devstack.stack import Stack

__all__ = ["Ports", "RateLimit", "Stack", "StackConfig"]
