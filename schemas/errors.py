"""The failures a user can fix, as one family of exception types.

Everything the factory raises for a bad input, setting, backends file, query or a missing thing
derives from ``UserError``; the command line turns those into one line and exit 2, and anything
else (a bug: a ``KeyError``, say) into exit 1 with its traceback in the log file.
"""

from __future__ import annotations


class UserError(Exception):
    """A failure the user can fix (the message says what and where)."""


class NotFound(UserError, LookupError):
    """A thing the user named does not exist (an evaluation set, a snapshot, a training run)."""


class InvalidInput(UserError, ValueError):
    """An input, setting or query that cannot be used as given."""


class Unavailable(UserError, RuntimeError):
    """Something the command needs is busy or unusable right now (the warehouse, a lease)."""
