"""Catalog habits: every reader-facing text is in the catalog, every catalog translates all of it
(no empty or fuzzy entry), translations keep their placeholders and markup, and the compiled .mo
files are the .po files as they stand. `make translations` extracts and compiles; these fail until
the new messages are translated."""
from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from jinja2 import nodes

from service.config import TRANSLATIONS_DIR

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "service" / "templates"
CATALOGS = ("fr", "ar")
# Attributes whose text people read or hear.
READ_ATTRIBUTES = {"aria-label", "alt", "title", "placeholder"}
PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]|\{[a-z_]+\}")
TAG = re.compile(r"</?([a-z]+)([^>]*)>")


def _extracted() -> set[str | tuple[str, str]]:
    """The messages `make translations` would extract today (same mapping, same keywords)."""
    with open(ROOT / "babel.cfg") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None, "lazy_gettext": None}
    return {message if isinstance(message, str) else tuple(message)
            for _file, _line, message, _comments, _context in
            extract_from_dir(str(ROOT / "service"), method_map, options_map, keywords=keywords)}


def _catalog(lang: str) -> Catalog:
    with open(TRANSLATIONS_DIR / lang / "LC_MESSAGES" / "messages.po", "rb") as po:
        return read_po(po, locale=lang)


@pytest.fixture(scope="module")
def extracted() -> set[str | tuple[str, str]]:
    return _extracted()


def test_the_catalogs_hold_every_message_and_nothing_else(extracted):
    assert len(extracted) > 200, "the extraction found too little: babel.cfg or the keywords are stale"
    for lang in CATALOGS:
        ids = {m.id if isinstance(m.id, str) else tuple(m.id) for m in _catalog(lang) if m.id}
        assert sorted(map(str, extracted - ids)) == [], f"{lang}: new messages: run `make translations` and translate them"
        assert sorted(map(str, ids - extracted)) == [], f"{lang}: messages no longer used: run `make translations`"


@pytest.mark.parametrize("lang", CATALOGS)
def test_every_message_is_translated_and_none_is_fuzzy(lang):
    catalog = _catalog(lang)
    assert not catalog.fuzzy
    for message in catalog:
        if not message.id:
            continue
        assert not message.fuzzy, f"{lang}: fuzzy: {message.id!r}"
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(s and s.strip() for s in strings), f"{lang}: not translated: {message.id!r}"
        if isinstance(message.id, tuple):
            assert len(strings) == catalog.num_plurals, f"{lang}: every plural form is needed: {message.id!r}"


def _tags(text: str) -> list[tuple[str, str]]:
    return sorted(TAG.findall(text))


@pytest.mark.parametrize("lang", CATALOGS)
def test_translations_keep_placeholders_and_markup(lang):
    """A translation names the same values (plural forms may leave the number out: "one month")
    and carries the same tags and links; it adds no double quote, which could end an attribute
    (French and Arabic quote with « »)."""
    for message in _catalog(lang):
        if not message.id:
            continue
        source = message.id if isinstance(message.id, str) else message.id[1]
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        expected = set(PLACEHOLDER.findall(source))
        for text in strings:
            found = set(PLACEHOLDER.findall(text))
            if isinstance(message.id, tuple):
                assert found <= expected, f"{lang}: {text!r} names values {found - expected} that {source!r} has not"
            else:
                assert found == expected, f"{lang}: {text!r} should name {expected}, names {found}"
            assert _tags(text) == _tags(source), f"{lang}: {text!r} changes the markup of {source!r}"
            assert text.count('"') <= source.count('"'), f"{lang}: {text!r} adds a double quote"
            assert "%" not in PLACEHOLDER.sub("", text).replace("%%", ""), f"{lang}: a lone % in {text!r} (write %%)"


@pytest.mark.parametrize("lang", CATALOGS)
def test_the_compiled_catalogs_are_the_po_files(lang):
    folder = TRANSLATIONS_DIR / lang / "LC_MESSAGES"
    def key(value: str | list[str] | tuple[str, ...]) -> str | tuple[str, ...]:
        return value if isinstance(value, str) else tuple(value)

    with open(folder / "messages.mo", "rb") as mo:
        compiled = {key(m.id): key(m.string) for m in read_mo(mo) if m.id}
    written = {key(m.id): key(m.string) for m in _catalog(lang) if m.id}
    assert compiled == written, "run `make translations` to compile the catalogs"


# --- no text outside the catalog -------------------------------------------------


class _Visible(HTMLParser):
    """The text of an HTML page that people read: its text, and the attributes read out to them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_data(self, data: str) -> None:
        self.found.append(data)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.extend(value or "" for name, value in attrs if name in READ_ATTRIBUTES)


MACRO = re.compile(r"\{%-?\s*macro\b.*?%\}(.*?)\{%-?\s*endmacro\s*-?%\}", re.S)


def _without_jinja(source: str) -> str:
    """The template's own literal text: translated blocks, expressions, tags and comments removed."""
    source = re.sub(r"\{#.*?#\}", "", source, flags=re.S)
    source = re.sub(r"\{%-?\s*trans\b.*?\{%-?\s*endtrans\s*-?%\}", "", source, flags=re.S)
    return re.sub(r"\{\{.*?\}\}|\{%.*?%\}", "", source, flags=re.S)


def _literal_texts(source: str, html: bool) -> list[str]:
    """What people would read of the template's literal text. Macros that write attributes (no tag
    of their own) are read for the attributes people hear; the rest is read in place."""
    texts = []
    for body in MACRO.findall(source):
        if "<" not in body:
            texts += [value for name, value in re.findall(r'([a-z-]+)="([^"]*)"', _without_jinja(body))
                      if name in READ_ATTRIBUTES]
    literal = _without_jinja(MACRO.sub(lambda m: m.group(1) if "<" in m.group(1) else "", source))
    if not html:
        return [*texts, re.sub(r"\S*/\S*", "", literal)]  # links in text emails are addresses, not words
    parser = _Visible()
    parser.feed(literal)
    return [*texts, *parser.found]


def _printed_literals(app, source: str) -> list[str]:
    """String literals a template prints as they are ({{ "month" if ... }}), outside gettext."""
    found: list[str] = []

    def printed(node: nodes.Node) -> None:
        if isinstance(node, nodes.Const) and isinstance(node.value, str):
            found.append(node.value)
        elif isinstance(node, nodes.CondExpr):
            printed(node.expr1)
            if node.expr2 is not None:
                printed(node.expr2)
        elif isinstance(node, nodes.Filter | nodes.Concat):
            for child in (node.nodes if isinstance(node, nodes.Concat) else [node.node]):
                if child is not None:
                    printed(child)

    for output in app.jinja_env.parse(source).find_all(nodes.Output):
        for child in output.nodes:
            if not isinstance(child, nodes.TemplateData):
                printed(child)
    return found


def _reader_templates() -> list[str]:
    names = [str(p.relative_to(TEMPLATES)) for p in sorted(TEMPLATES.rglob("*")) if p.suffix in (".html", ".txt")]
    return [n for n in names if not n.startswith("staff/")]


@pytest.mark.parametrize("name", _reader_templates())
def test_reader_templates_show_no_text_outside_the_catalog(app, name):
    source = (TEMPLATES / name).read_text()
    words = [t.strip() for t in _literal_texts(source, name.endswith(".html")) if re.search(r"[^\W\d_]{2,}", t)]
    assert words == [], f"{name}: text outside {{% trans %}} or _(): {words}"
    printed = [t for t in _printed_literals(app, source) if re.search(r"[^\W\d_]{2,}", t)]
    assert printed == [], f"{name}: literal strings printed without _(): {printed}"


def test_the_catalog_check_catches_an_untranslated_text(app):
    """The check above would notice: a plain sentence, a read-out attribute, a printed literal."""
    page = ('{% macro hint() %} aria-label="Say this"{% endmacro %}'
            '<p>{% trans %}Fine{% endtrans %} Not fine</p><nav aria-label="Menu">{{ _("ok") }}</nav>')
    assert [t.strip() for t in _literal_texts(page, html=True) if t.strip()] == ["Say this", "Not fine", "Menu"]
    assert [t.strip() for t in _literal_texts("{{ _('Hi') }} {{ url }}/account\nBye", html=False)] == ["Bye"]
    assert _printed_literals(app, '{{ "month" if n == 1 else "months" }}{{ _("fine") }}') == ["month", "months"]
