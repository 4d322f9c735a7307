"""The one exception an ID-number or phone-number check raises."""

from __future__ import annotations

from ..errors import FanpinError, Problem


class SensitiveValueInvalid(FanpinError):
    """A sensitive value (ID number, phone number) failed a check. Holds exactly one
    :class:`Problem`, whose message shows the value masked."""

    def __init__(self, problem: Problem):
        super().__init__(problem)

    @property
    def problem(self) -> Problem:
        """The single problem found."""
        return self.problems[0]
