"""Where LLM calls run: service time and capacity of each backend kind."""

from simulator.backends.api import ApiServer, MinuteWindows

__all__ = ["ApiServer", "MinuteWindows"]
