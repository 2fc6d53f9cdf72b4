"""Errors the command line turns into a message and exit code 2.

Any other exception escaping the simulator is a bug, not bad input.
"""

from __future__ import annotations


class SimulatorError(Exception):
    """Base of every error flipsim raises on purpose."""


class ScenarioError(SimulatorError):
    """A scenario that cannot be read or is not valid.

    Attributes:
        problems: one line per problem, each naming the field path, the value
            found and what is allowed.
    """

    def __init__(self, problems: list[str] | str) -> None:
        if isinstance(problems, str):
            problems = [problems]
        self.problems: list[str] = list(problems)
        super().__init__("\n".join(self.problems))
