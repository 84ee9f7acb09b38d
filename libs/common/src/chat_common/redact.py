"""Start-up errors without secrets: a database URL's password never reaches a log or
a terminal, whatever library wrote the message (configparser, SQLAlchemy, psycopg)."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

MASK = "***"


def _password(url: str) -> str | None:
    try:
        return urlsplit(url).password
    except ValueError:  # unparsable (a bad port): fall back to the text between : and @
        userinfo = url.partition("://")[2].rpartition("@")[0]
        return userinfo.partition(":")[2] or None


def redact(text: str, url: str) -> str:
    """`text` with the URL's password masked, in every spelling it may have been quoted
    in (as written, percent-decoded, with "%" doubled for configparser)."""
    password = _password(url)
    if not password:
        return text
    spellings = {password, unquote(password), password.replace("%", "%%")}
    for spelling in sorted(spellings, key=len, reverse=True):
        if spelling:
            text = text.replace(spelling, MASK)
    return text


def describe(exc: BaseException) -> str:
    """One line for a start-up failure: the error's type and message, no traceback."""
    message = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__
