"""Chinese is the default UI language, English is one click away, and the catalogue is complete."""

from __future__ import annotations

import gettext
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

LOCALE = Path(__file__).resolve().parents[2] / "locale" / "zh_Hans" / "LC_MESSAGES"


def _catalog(with_context: bool = False) -> list[tuple[str, str]]:
    """(msgid, msgstr); with_context: entries with a context (pgettext) are left out."""
    with open(LOCALE / "django.po", "rb") as fh:
        cat = read_po(fh, locale="zh_Hans")
    out = []
    for msg in cat:
        if not msg.id or (msg.context and not with_context):
            continue
        key = msg.id if isinstance(msg.id, str) else msg.id[0]
        value = msg.string if isinstance(msg.string, str) else msg.string[0]
        out.append((key, value))
    return out


def _contextual() -> list[tuple[str, str, str]]:
    with open(LOCALE / "django.po", "rb") as fh:
        cat = read_po(fh, locale="zh_Hans")
    return [(m.context, m.id, m.string) for m in cat if m.id and m.context and isinstance(m.id, str)]


def test_every_message_is_translated() -> None:
    untranslated = [k for k, v in _catalog(with_context=True) if not v]
    assert not untranslated, f"untranslated msgids: {untranslated[:20]}"


def test_compiled_catalogue_matches_the_po_file() -> None:
    with open(LOCALE / "django.mo", "rb") as fh:
        mo = gettext.GNUTranslations(fh)
    stale = [k for k, v in _catalog() if "%" not in k and mo.gettext(k) != v]
    stale += [f"{c}|{k}" for c, k, v in _contextual() if mo.pgettext(c, k) != v]
    assert not stale, f"django.mo is stale (run `make messages`): {stale[:10]}"


@pytest.mark.django_db
def test_chinese_by_default_and_english_on_request(client) -> None:  # type: ignore[no-untyped-def]
    zh = client.get("/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert "登录您的账号" in zh
    client.post("/i18n/setlang/", {"language": "en", "next": "/login/"})
    en = client.get("/login/").content.decode()
    assert "Sign in to your account" in en
