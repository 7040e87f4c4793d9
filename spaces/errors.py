"""Errors raised by search spaces for invalid architectures or options."""


class SpaceError(ValueError):
    """An architecture, index or option that the space does not allow.

    The message names the offending field or value and the allowed ones; the CLI
    prints it on one line.
    """
