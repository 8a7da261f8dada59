"""The message catalogue of the reports: every fixed text, once, as (English, Swedish).

``report.i18n.t(key, **values)`` picks the text in the report's language and fills its
``{fields}``. Column headers, units and meanings are not here: they are in the output column
registry (``climateinvest/io/output_columns.yaml``). ``tests/test_messages.py`` checks that every
key used in the code is here, in both languages, with the same fields.
"""
from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    # words
    "yes": ("yes", "ja"),
    "no": ("no", "nej"),
    "never": ("never", "aldrig"),
    "per_year": ("/yr", "/år"),
}
