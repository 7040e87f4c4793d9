"""User-facing errors.

A :class:`UserError` is a mistake the user can fix (a bad flag, a missing file, a run
directory that holds another run). The CLI prints its message on one line and exits
with status 2; it never shows a traceback for it.
"""


class UserError(Exception):
    """A problem with the user's input, reported as one line without a traceback."""


def user_errors() -> tuple[type[Exception], ...]:
    """Exception types that describe a user mistake and are shown without a traceback."""
    from proxies.registry import ProxyError
    from spaces.errors import SpaceError

    return (UserError, SpaceError, ProxyError)
