"""A clone's development settings: ``instance/linx.env``, written by ``make run``, read by ``linx`` run there.

``make run`` exports ``LINX_ENV=development`` (and ``LINX_PUBLIC_URL``) to the commands it runs; a ``linx``
command pasted from the README into a new shell has none of them, and would start in production, where it
refuses to run without secrets. So ``make run`` writes the ``LINX_*`` settings it uses to ``instance/linx.env``
(git-ignored, mode 0600), and the ``linx`` command reads that file, under one rule:

- the file is ``instance/linx.env`` under the *current directory* (not under ``LINX_INSTANCE_PATH``), and
- that directory is a clone: it holds a ``.git`` entry (a folder, or a worktree's file) or the
  ``.venv/.installed`` stamp ``make install`` leaves, and
- ``LINX_ENV`` is unset or ``development`` in the environment, and
- ``LINX_SECRET_KEY`` is not set in the environment (a process given a secret key is a deployment's, even
  when it forgot ``LINX_ENV``: it must not slip into development because ``make run`` once ran there), and
- the file itself says ``LINX_ENV=development`` (a file that does not is refused, exit 2), in UTF-8 (one
  that is not is refused too, naming it).

Its ``NAME=value`` lines (``#`` comments and blank lines aside; names starting ``LINX_``; the value is the
rest of the line, unquoted) fill in the variables the environment does not set: the environment wins.
An installed deployment sets ``LINX_ENV`` or its secret key (or runs outside a clone), so it never reads one;
and whatever the file says, a process that reads it runs in development.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from pathlib import Path

from .errors import ConfigurationError

PATH = Path("instance") / "linx.env"


#: what marks a clone's top folder, beside ``instance/``: git's entry, or the stamp ``make install`` writes
CLONE_MARKS = (Path(".git"), Path(".venv") / ".installed")


def applies(environ: Mapping[str, str], cwd: Path | None = None) -> Path | None:
    """The development file ``linx`` would read here, or None when the rule (above) says not to."""
    if environ.get("LINX_ENV", "development") != "development" or "LINX_SECRET_KEY" in environ:
        return None
    folder = cwd or Path.cwd()
    path = folder / PATH
    if not path.is_file() or not any((folder / mark).exists() for mark in CLONE_MARKS):
        return None
    return path


def read(path: Path) -> dict[str, str]:
    """The ``LINX_*`` settings of a development file; refuses one that is not for development."""
    values: dict[str, str] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigurationError(f"{path} is not UTF-8 text (byte {exc.start}): move it away, or run `make run` "
                                 "again to rewrite it.") from None
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        name = name.strip()
        if not sep or not name.startswith("LINX_"):
            raise ConfigurationError(f"{PATH}:{number}: not a LINX_NAME=value line (move the file away, or run "
                                     "`make run` again to rewrite it).")
        values[name] = value
    if values.get("LINX_ENV") != "development":
        raise ConfigurationError(f"{PATH} is for development and must say LINX_ENV=development; it does not "
                                 "(move it away: a deployment sets its settings in its environment).")
    return values


@contextmanager
def applied(environ: MutableMapping[str, str] | None = None, cwd: Path | None = None) -> Iterator[Path | None]:
    """While inside, ``environ`` (``os.environ``) also holds the development file's settings that it lacked, when
    the rule applies; yields the file read, or None. They are taken out again on the way out (a command run in
    a test process leaves nothing behind)."""
    environ = os.environ if environ is None else environ
    path = applies(environ, cwd)
    added = {k: v for k, v in read(path).items() if k not in environ} if path else {}
    environ.update(added)
    try:
        yield path
    finally:
        for name in added:
            environ.pop(name, None)


def write(path: Path, environ: Mapping[str, str]) -> None:
    """Write ``environ``'s ``LINX_*`` settings (``make run``'s) to the development file ``path``, readable by
    its owner only (it may hold keys)."""
    values = {k: v for k, v in sorted(environ.items()) if k.startswith("LINX_")}
    if values.get("LINX_ENV") != "development":
        raise ConfigurationError(f"{path}: only development settings are written there (LINX_ENV=development).")
    bad = [k for k, v in values.items() if "\n" in v or "\r" in v]
    if bad:
        raise ConfigurationError(f"{', '.join(bad)}: a value on more than one line cannot be written to {path}.")
    path.parent.mkdir(parents=True, exist_ok=True)
    text = ("# Written by `make run`: the settings `linx` uses when run from this folder in development.\n"
            + "".join(f"{k}={v}\n" for k, v in values.items()))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(path, 0o600)  # an older file keeps its mode through O_TRUNC


def main(argv: list[str]) -> int:
    """``python -m linx_core.devfile [PATH]``: write this environment's development settings (``make run``)."""
    try:
        write(Path(argv[0]) if argv else PATH, os.environ)
    except ConfigurationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
