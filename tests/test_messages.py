"""The message catalogue: every key used in the code exists, in both languages, with the same
fields; the chart catalogue leaves no chart text of a Swedish report in English."""
from __future__ import annotations

import re
import string

import pytest
from conftest import ROOT

from climateinvest.report import i18n
from climateinvest.report.messages import GLOSSARY_IDS, MESSAGES

REPORT = ROOT / "climateinvest" / "report"


def _fields(text):
    return sorted({f for _, f, _, _ in string.Formatter().parse(text) if f})


def test_every_message_has_both_languages_with_the_same_fields():
    for key, (en, sv) in MESSAGES.items():
        assert en.strip() and sv.strip(), key
        assert _fields(en) == _fields(sv), key


def test_every_key_used_in_the_code_is_in_the_catalogue():
    used = set()
    for path in REPORT.rglob("*.py"):
        used |= set(re.findall(r"""\bt\(\s*["']([a-z_.0-9]+)["']""", path.read_text(encoding="utf-8")))
        # keys built from a known list: t(f"section.{name}") and the like
        for prefix in re.findall(r"""\bt\(\s*f["']([a-z_.]+)\{""", path.read_text(encoding="utf-8")):
            assert any(k.startswith(prefix) for k in MESSAGES), prefix
    assert len(used) > 50
    missing = sorted(k for k in used if k not in MESSAGES)
    assert missing == []
    for g in GLOSSARY_IDS:
        assert f"gloss.{g}.term" in MESSAGES and f"gloss.{g}.text" in MESSAGES


def test_choose_language():
    assert i18n.choose_language(None, None, "SE") == "sv"
    assert i18n.choose_language(None, None, "XX") == "en"
    assert i18n.choose_language(None, "en", "SE") == "en"
    assert i18n.choose_language("sv", "en", "XX") == "sv"
    with pytest.raises(ValueError, match="allowed: sv, en"):
        i18n.choose_language("de", None, "SE")


@pytest.mark.slow
def test_swedish_charts_have_no_english_text_left():
    import warnings

    from climateinvest import report
    from climateinvest.report.chart_text import untranslated
    from climateinvest.report.figures import section_figures

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = report.load(ROOT / "parameters" / "2027" / "base.yaml", "sv")
    data = set(result.measures["name"].astype(str)) | set(result.city.funding_sources["name"].astype(str))
    n = 0
    for section in ("macc", "portfolio", "financing", "pathway", "uncertainty"):
        for fig in section_figures(result, section):
            assert hasattr(fig, "fig"), fig  # no error note
            assert untranslated(fig.fig, data) == [], section
            assert fig.fig.layout.separators == ",\u202f"
            n += 1
    assert n >= 12
