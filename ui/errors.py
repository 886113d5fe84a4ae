"""The engine's errors in the page's language.

model/ raises DataError, CheckpointError, ConfigError and TokenizerError with a ``code`` and the
``values`` of their sentence; their str() is the English the command line prints. A page says the
same through ``error_text``: the string ``error_<code>`` of assets/i18n, which names the page's own
boxes where the command line names its flags, and leaves out a library's English details.
"""

from __future__ import annotations

from ui.i18n import has, t_plain


def error_text(exc: BaseException) -> str:
    """The error in the page's language, as plain text: a value for ``t`` (which escapes it for Markdown).

    An error without a code, or with a code that has no string, gives str(exc).
    """
    code = getattr(exc, "code", None)
    if code is None or not has(f"error_{code}"):
        return str(exc)
    values = {name: _shown(name, value) for name, value in getattr(exc, "values", {}).items()}
    try:
        return t_plain(f"error_{code}").format(**values)
    except (KeyError, IndexError, ValueError):  # a translation asking for a value the error lacks must not crash
        return str(exc)


def _shown(name: str, value: object) -> object:
    if isinstance(value, BaseException):
        return error_text(value)  # the cause (a config's bad setting, a tokenizer's problem), in the same language
    if name == "setting" and has(f"hp_{value}"):
        return t_plain(f"hp_{value}")  # as the Train page labels the setting
    return value
