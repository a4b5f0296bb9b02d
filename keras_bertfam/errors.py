"""The errors keras_bertfam raises for what a user can fix, and the exit code of each.

Every error a user can act on (bad input, a missing or corrupt file, a refused
overwrite, a diverged run) derives from `BertfamError`; the `bertfam` command
prints its message and exits with its `exit_code`. Anything else is a bug: the
command lets it through with its traceback (exit code 1).

Each class also derives from the built-in exception it refines (`ValueError`,
`FileNotFoundError`, ...), so `except ValueError` keeps catching bad values.

Exit codes: 0 success, 2 a user error, 3 training stopped because it diverged,
1 a bug.

Example:

>>> from keras_bertfam.errors import BertfamError, InputError, TrainingDiverged
>>> err = InputError("batch_size=0 must be >= 1")
>>> isinstance(err, ValueError), isinstance(err, BertfamError), err.exit_code
(True, True, 2)
>>> TrainingDiverged("loss is NaN").exit_code
3
"""

from __future__ import annotations

import errno

EXIT_USER_ERROR = 2
EXIT_DIVERGED = 3


class BertfamError(Exception):
    """Base of every user-facing keras_bertfam error."""

    exit_code = EXIT_USER_ERROR


class InputError(BertfamError, ValueError):
    """An argument, option or input value the library cannot use (names field and value)."""


class MissingInputError(BertfamError, FileNotFoundError):
    """A file or folder the call needs does not exist (or is the wrong kind of path)."""


class OutputExistsError(BertfamError, FileExistsError):
    """An output folder or file already holds something the call would replace."""


class WriteError(BertfamError, OSError):
    """An output could not be written (e.g. the disk is full); what was there is kept."""


class TrainingDiverged(BertfamError, RuntimeError):
    """Training stopped because the loss became NaN or infinite; the last good state is kept."""

    exit_code = EXIT_DIVERGED


def disk_full(err: BaseException) -> bool:
    """Whether `err` reports a full disk or quota (an `OSError`, or TensorFlow's and
    h5py's file errors, which carry the system's message)."""
    if isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    return any(text in str(err) for text in ("No space left on device", "Disk quota exceeded"))
