"""Messages in two languages: every message id the code marks (and every CLI help text) has a
pt-BR translation, the compiled catalog matches its source, and the CLI speaks English by
default and Portuguese when asked (LANG, FROTA_LANGUAGE, frota.toml, --lang)."""

from __future__ import annotations

import gettext
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from babel.messages.catalog import Catalog
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

from frota import i18n
from frota.cli import main
from frota.cli.app import use_language
from frota.cli.locale import CLICK_MESSAGES, CLICK_PLURALS

ROOT = Path(__file__).parent.parent
CATALOGS = sorted(i18n.LOCALE_DIR.glob("*/LC_MESSAGES/frota.po"))


def extract(pot: Path) -> Catalog:
    """The messages `make i18n` extracts (same arguments as its pybabel extract line)."""
    args = ["pybabel", "-q", "extract", "--mapping-file", str(ROOT / "pyproject.toml")]
    args += ["--keyword", "N_", "--keyword", "Nn_:1,2", "--output-file", str(pot)]
    cwd = os.getcwd()
    os.chdir(ROOT)  # the mapping's patterns are relative to the folder extracted
    try:
        CommandLineInterface().run([*args, "src/frota"])
    finally:
        os.chdir(cwd)
    with pot.open("rb") as fh:
        return read_po(fh)


def untranslated(template: Catalog, translations: Catalog) -> list[str]:
    """Message ids of `template` without a complete, reviewed (not fuzzy) translation."""
    missing = []
    for message in template:
        if not message.id:
            continue
        done = translations.get(message.id)
        strings = done.string if done is not None else ""
        forms = strings if isinstance(strings, tuple) else (strings,)
        if done is None or done.fuzzy or not all(forms):
            missing.append(str(message.id))
    return missing


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    return extract(tmp_path_factory.mktemp("pot") / "frota.pot")


@pytest.fixture(params=CATALOGS, ids=lambda po: po.parent.parent.name)
def po(request: pytest.FixtureRequest) -> Path:
    return request.param


@pytest.fixture
def translations(po: Path) -> Catalog:
    with po.open("rb") as fh:
        return read_po(fh, locale=po.parent.parent.name)


def test_pt_br_is_there() -> None:
    assert [p.parent.parent.name for p in CATALOGS] == ["pt_BR"]


def test_every_message_has_a_translation(
    template: Catalog, translations: Catalog, po: Path
) -> None:
    assert len(template) > 80  # the help texts and click's words at least
    missing = untranslated(template, translations)
    assert not missing, f"untranslated in {po} (run `make i18n`, then translate): {missing}"


def test_a_missing_or_fuzzy_translation_is_caught() -> None:
    template, translations = Catalog(), Catalog(locale="pt_BR")
    for text in ("one", "two", "three"):
        template.add(text)
    translations.add("one", "um")
    translations.add("two", "dois", flags=["fuzzy"])
    assert untranslated(template, translations) == ["two", "three"]


def test_translations_keep_their_placeholders(translations: Catalog) -> None:
    problems = [(m.id, [str(e) for e in errors]) for m, errors in translations.check()]
    assert not problems
    for message in translations:
        if message.id and message.string:
            ids = message.id if isinstance(message.id, tuple) else (message.id,)
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            wanted = {p for text in ids for p in re.findall(r"\{[^}]*\}|%\(\w+\)s", text)}
            for text in strings:
                assert set(re.findall(r"\{[^}]*\}|%\(\w+\)s", text)) <= wanted, message.id


def test_the_compiled_catalog_is_the_source(translations: Catalog, po: Path) -> None:
    mo = po.with_suffix(".mo")
    assert mo.is_file(), "not compiled: `make test`, `make i18n` or `pip install -e .` do it"
    with mo.open("rb") as fh:
        compiled = gettext.GNUTranslations(fh)
    stale = [
        m.id
        for m in translations
        if m.id and isinstance(m.id, str) and compiled.gettext(m.id) != m.string
    ]
    assert not stale, f"{mo} is older than {po.name}: run `make i18n`"


def test_click_messages_are_still_clicks() -> None:
    source = "".join(
        p.read_text(encoding="utf-8") for p in Path(click.__file__).parent.glob("*.py")
    )
    pairs = [(m,) for m in CLICK_MESSAGES] + [tuple(p) for p in CLICK_PLURALS]
    gone = [p for p in pairs if not all(f'"{text}"' in source for text in p)]
    assert not gone, "click changed these words: update frota.cli.locale"


def test_languages_are_normalised() -> None:
    assert i18n.available() == ("en", "pt_BR")
    for spelling in ("pt-BR", "pt_br", "pt_BR.UTF-8", "pt"):
        assert i18n.normalise(spelling) == "pt_BR"
    for spelling in ("en", "en_US.UTF-8", "C"):
        assert i18n.normalise(spelling) == "en"
    with pytest.raises(i18n.UnknownLanguage, match="does not speak the language 'xx'"):
        i18n.normalise("xx")


# ---------------------------------------------------------------- the CLI in both languages


def frota(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("FROTA_", "LC_", "LANG"))}
    return subprocess.run(
        [sys.executable, "-m", "frota", *args],
        cwd=cwd,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_help_in_english_by_default_and_portuguese_from_lang(tmp_path: Path) -> None:
    english = frota("--help", cwd=tmp_path)
    assert english.returncode == 0
    assert "Usage: frota" in english.stdout and "Show this message and exit." in english.stdout
    assert "Load every complete, not-yet-loaded batch" in english.stdout

    portuguese = frota("--help", cwd=tmp_path, LANG="pt_BR.UTF-8")
    assert portuguese.returncode == 0
    assert "Uso: frota" in portuguese.stdout and "Opções:" in portuguese.stdout
    assert "Comandos:" in portuguese.stdout and "Mostra esta mensagem e sai." in portuguese.stdout
    assert "Carrega cada lote completo ainda não carregado" in portuguese.stdout


@pytest.mark.parametrize("how", ["--lang", "FROTA_LANGUAGE", "frota.toml"])
def test_the_language_setting_wins_over_the_locale(tmp_path: Path, how: str) -> None:
    args, env = ["load", "--help"], {"LANG": "en_US.UTF-8"}
    if how == "--lang":
        args = ["--lang", "pt-BR", *args]
    elif how == "FROTA_LANGUAGE":
        env["FROTA_LANGUAGE"] = "pt-BR"
    else:
        (tmp_path / "frota.toml").write_text('language = "pt-BR"\n', encoding="utf-8")
    done = frota(*args, cwd=tmp_path, **env)
    assert done.returncode == 0, done.stderr
    assert "Uso: frota load" in done.stdout
    assert "Carrega cada lote completo" in done.stdout

    english = frota("--lang", "en", "load", "--help", cwd=tmp_path, LANG="pt_BR.UTF-8")
    assert "Usage: frota load" in english.stdout


def test_error_and_hint_lines_in_both_languages(tmp_path: Path) -> None:
    english = frota("--database", "nosuch://x", "load", cwd=tmp_path)
    assert english.returncode == 7
    assert english.stderr.startswith("error: unsupported database 'nosuch'")
    assert "\n  hint: use sqlite, mysql or postgresql" in english.stderr

    portuguese = frota("--database", "nosuch://x", "load", cwd=tmp_path, LANG="pt_BR.UTF-8")
    assert portuguese.returncode == 7
    assert portuguese.stderr.startswith("erro: banco de dados não suportado 'nosuch'")
    assert "\n  dica: use sqlite, mysql ou postgresql" in portuguese.stderr


def test_usage_errors_in_portuguese(tmp_path: Path) -> None:
    bad_flag = frota("run", "--role", "nenhum", cwd=tmp_path, LANG="pt_BR.UTF-8")
    assert bad_flag.returncode == 2
    assert "Erro: Valor inválido para '--role': 'nenhum' não é um destes:" in bad_flag.stderr
    assert "Veja 'frota run --help' para ajuda." in bad_flag.stderr

    unknown = frota("--lang", "xx", "load", cwd=tmp_path)
    assert unknown.returncode == 2
    assert "frota does not speak the language 'xx'" in unknown.stderr
    assert "use one of: en, pt-BR" in unknown.stderr

    setting = frota("load", cwd=tmp_path, FROTA_LANGUAGE="xx")
    assert setting.returncode == 7
    assert "error: frota does not speak the language 'xx'" in setting.stderr


@pytest.fixture
def in_process() -> Iterator[None]:
    yield
    use_language(flag="en")  # the next in-process test speaks English again


def test_internal_error_lines_in_portuguese(
    in_process: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    # A bug cannot be produced on demand: the status step is made to fail as one would.
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("frota.observe.status.collect_status", broken)
    with pytest.raises(SystemExit) as exited:
        main(["--lang", "pt-BR", "status"])
    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert "erro interno: RuntimeError: boom" in err
    assert "rode de novo com -v para ver os detalhes" in err


# ---------------------------------------------------------------- a bad export, both languages


BAD_EXPORT = {
    "veiculos.csv": "placa,modelo\nABC1234,Volvo\n",  # an unknown column: the file is refused
    "manutencoes.csv": "placa_veiculo,tipo_manutencao,data_manutencao,custo\n"
    "ABC1234,Pneus,31-02-2024,10.00\n"  # not a date
    "ABC1234,Oleo,01/02/2024,10.00,extra\n",  # a ragged row
}

# What `publish --from` says about the bad export, in each language: the problem and the fix.
SAYS = {
    "en": {
        "refused": [
            "error: veiculos.csv, line 1, column 'modelo': unknown column 'modelo'",
            "  hint: expected columns: placa, tipo_veiculo, status, quilometragem_total, "
            "data_aquisicao (or set allow_extra_columns = true in frota.toml",
        ],
        "rows": [
            "manutencoes.csv:2:data_manutencao: the value is not a date (use YYYY-MM-DD or "
            "dd/mm/yyyy): '31-02-2024' [not_a_date] (hint: write the date as dd/mm/yyyy or "
            "yyyy-mm-dd)",
            "manutencoes.csv:3: the row has more or fewer fields than the header [ragged_row] "
            "(hint: fix the row; put values that hold the delimiter in quotes)",
        ],
        "dry run": ["veiculos.csv: refused: unknown column 'modelo'", "1 file(s) refused"],
        "published": [
            "the loader will hold 2 row(s) in the quarantine (2 problem(s): not_a_date x1, "
            "ragged_row x1); the first:",
            "published: ",
        ],
    },
    "pt_BR.UTF-8": {
        "refused": [
            "erro: veiculos.csv, linha 1, coluna 'modelo': coluna desconhecida 'modelo'",
            "  dica: colunas esperadas: placa, tipo_veiculo, status, quilometragem_total, "
            "data_aquisicao (ou defina allow_extra_columns = true no frota.toml",
        ],
        "rows": [
            "manutencoes.csv:2:data_manutencao: o valor não é uma data (use AAAA-MM-DD ou "
            "dd/mm/aaaa): '31-02-2024' [not_a_date] (dica: escreva a data como dd/mm/aaaa ou "
            "aaaa-mm-dd)",
            "manutencoes.csv:3: a linha tem mais ou menos campos que o cabeçalho [ragged_row] "
            "(dica: corrija a linha; coloque entre aspas os valores que contêm o separador)",
        ],
        "dry run": [
            "veiculos.csv: recusado: coluna desconhecida 'modelo'",
            "1 arquivo(s) recusado(s)",
        ],
        "published": [
            "o carregador vai reter 2 linha(s) na quarentena (2 problema(s): not_a_date x1, "
            "ragged_row x1); os primeiros:",
            "publicado: ",
        ],
    },
}


@pytest.mark.parametrize("lang", list(SAYS))
def test_publish_from_a_bad_export_says_the_problem_and_the_fix(tmp_path: Path, lang: str) -> None:
    """Issue 17's "done when": `LANG=pt_BR.UTF-8 frota publish --from <bad export>` explains
    the problem and the fix in Portuguese; in English by default. Codes stay codes."""
    env = {} if lang == "en" else {"LANG": lang}
    says = SAYS[lang]
    exports = tmp_path / "exports"
    exports.mkdir()
    for name, text in BAD_EXPORT.items():
        (exports / name).write_text(text, encoding="utf-8")

    refused = frota("publish", "--from", str(exports), cwd=tmp_path, **env)
    assert refused.returncode == 3
    assert says["refused"][0] in refused.stderr.splitlines()
    assert says["refused"][1] in refused.stderr

    checked = frota("publish", "--from", str(exports), "--dry-run", cwd=tmp_path, **env)
    assert checked.returncode == 3
    for line in says["rows"] + says["dry run"]:
        assert line in checked.stdout

    (exports / "veiculos.csv").unlink()  # the refused file left out: the rest is published
    published = frota("publish", "--from", str(exports), cwd=tmp_path, **env)
    assert published.returncode == 0, published.stderr
    lines = published.stdout.splitlines()
    assert lines[0] == says["published"][0]
    assert [line.strip() for line in lines[1:3]] == says["rows"]
    assert lines[3].startswith(says["published"][1]) and "data/landing" in lines[3]


def test_every_reason_says_what_it_means_and_what_to_do_in_both_languages(
    in_process: None,
) -> None:
    from frota.contract.validate import FIXES, REASONS, explain, fix_for

    assert set(FIXES) == set(REASONS)
    english = {code: (explain(code), fix_for(code)) for code in REASONS}
    assert english["not_a_date"] == (
        "the value is not a date (use YYYY-MM-DD or dd/mm/yyyy)",
        "write the date as dd/mm/yyyy or yyyy-mm-dd",
    )
    use_language(flag="pt-BR")
    portuguese = {code: (explain(code), fix_for(code)) for code in REASONS}
    assert portuguese["not_a_date"] == (
        "o valor não é uma data (use AAAA-MM-DD ou dd/mm/aaaa)",
        "escreva a data como dd/mm/aaaa ou aaaa-mm-dd",
    )
    assert portuguese["ragged_row"][0] == "a linha tem mais ou menos campos que o cabeçalho"
    same = [code for code in REASONS if portuguese[code] == english[code] or "" in english[code]]
    assert not same, f"not translated: {same}"
    assert explain("no_such_reason") == fix_for("no_such_reason") == ""


# ---------------------------------------------------------------- status and check, both languages


@pytest.fixture
def empty_server(tmp_path: Path) -> Path:
    """A server with its schema and an empty landing area: nothing loaded yet."""
    done = frota("db", "init", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    (tmp_path / "data" / "landing").mkdir()
    return tmp_path


def test_status_in_both_languages(empty_server: Path) -> None:
    english = frota("status", cwd=empty_server)
    assert english.returncode == 0, english.stderr
    for words in ("landing area", "complete, not loaded", "batches loaded", "never"):
        assert words in english.stdout
    assert "rows in manutencoes" in english.stdout and "quarantine held" in english.stdout

    portuguese = frota("status", cwd=empty_server, LANG="pt_BR.UTF-8")
    assert portuguese.returncode == 0, portuguese.stderr
    for words in ("área de pouso (landing)", "completos, não carregados", "lotes carregados"):
        assert words in portuguese.stdout
    assert "nunca" in portuguese.stdout and "linhas em manutencoes" in portuguese.stdout
    assert "retidas na quarentena" in portuguese.stdout
    assert "landing area" not in portuguese.stdout and "never" not in portuguese.stdout


def test_check_in_both_languages_keeps_its_machine_fields(empty_server: Path) -> None:
    args = ("check", "--no-alerts", "--role", "server")
    english = frota(*args, cwd=empty_server)
    assert english.returncode == 2
    lines = english.stdout.splitlines()
    assert lines[0] == "frota CRITICAL: load_age: no successful load yet (1 critical)"
    assert "next: run `frota load` (or schedule it" in english.stdout
    assert any(re.fullmatch(r"OK +rejected +no rejected batch waiting", li) for li in lines)

    portuguese = frota(*args, cwd=empty_server, LANG="pt_BR.UTF-8")
    assert portuguese.returncode == 2
    lines = portuguese.stdout.splitlines()
    assert lines[0] == "frota CRITICAL: load_age: ainda nenhuma carga bem-sucedida (1 crítico(s))"
    assert "a seguir: rode `frota load` (ou agende" in portuguese.stdout
    assert any(re.fullmatch(r"OK +rejected +nenhum lote recusado esperando", li) for li in lines)

    # The monitoring plugin's fields are the same in every language; only the words change.
    both = [
        json.loads(frota(*args, "--json", cwd=empty_server, **env).stdout)
        for env in ({}, {"LANG": "pt_BR.UTF-8"})
    ]
    machine = [[(c["name"], c["status"], c["value"]) for c in r["checks"]] for r in both]
    assert machine[0] == machine[1] and both[0]["exit_code"] == both[1]["exit_code"] == 2
    assert [set(c) for c in both[0]["checks"]] == [set(c) for c in both[1]["checks"]]
    assert both[0]["checks"][-1]["summary"] != both[1]["checks"][-1]["summary"]


def _marked(node: object) -> list[str]:
    """The message ids `node` evaluates to: `_("…")`, both forms of `ngettext("…", "…", n)`,
    or both sides of `_("…") if … else …`."""
    import ast

    if isinstance(node, ast.IfExp):
        return _marked(node.body) + _marked(node.orelse)
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "ngettext"
        and len(node.args) >= 2
        and all(isinstance(a, ast.Constant) for a in node.args[:2])
    ):
        return [node.args[0].value, node.args[1].value]
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "_"
        and node.args
        and isinstance(node.args[0], ast.Constant)
    ):
        return [node.args[0].value]
    return []


def _formatted_messages() -> Iterator[tuple[str, int, str, set[str]]]:
    """Every `_("…").format(name=…)` in the package, and every `.format` of a variable a
    function set to a marked message: file, line, message, names passed."""
    import ast

    for path in sorted((ROOT / "src" / "frota").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for scope in ast.walk(tree):
            if not isinstance(scope, (ast.FunctionDef, ast.Module)):
                continue
            assigned: dict[str, list[tuple[int, list[str]]]] = {}  # name -> (line, messages)
            for node in ast.walk(scope):
                if isinstance(node, ast.Assign) and len(node.targets) == 1:
                    target = node.targets[0]
                    if isinstance(target, ast.Name) and _marked(node.value):
                        assigned.setdefault(target.id, []).append(
                            (node.lineno, _marked(node.value))
                        )
            for node in ast.walk(scope):
                if not (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "format"
                ):
                    continue
                value = node.func.value
                messages = _marked(value) if isinstance(scope, ast.Module) else []
                if isinstance(value, ast.Name):  # the last assignment before this line
                    before = [a for a in assigned.get(value.id, []) if a[0] < node.lineno]
                    messages = max(before)[1] if before else []
                names = {k.arg for k in node.keywords if k.arg}
                for message in messages:
                    yield path.name, node.lineno, message, names


def test_every_formatted_message_gets_exactly_its_placeholders() -> None:
    """A placeholder without its value would fail only when the error happens, in a user's
    hands: every `_("…{name}…").format(…)` passes each name it uses, and no other."""
    import string

    checked, wrong = 0, []
    for file, line, message, names in _formatted_messages():
        wanted = {f for _, f, _, _ in string.Formatter().parse(message) if f}
        checked += 1
        if wanted != names:
            wrong.append(f"{file}:{line}: {message!r} gets {sorted(names)}")
    assert checked > 150
    assert not wrong, "\n".join(wrong)


# Raised without marking on purpose: Python's own exceptions (bugs, never shown as an
# `error:` line), a missing extra (a module name), a value's problem (a reason code and the
# detail stored with the row), and the Airflow DAG's (read in Airflow's log, not by a terminal).
NOT_SHOWN = {"ValueError", "TypeError", "RuntimeError", "KeyError", "NotImplementedError"}
NOT_SHOWN |= {"AssertionError", "MissingExtra", "ValueProblem", "SystemExit"}
UNMARKED_FILES = {"orchestrate/airflow_dag.py", "i18n.py"}  # i18n.py: no language known yet


def test_every_error_message_and_hint_is_marked() -> None:
    """A message or hint written as a plain string never reaches a Portuguese user: every
    raise passes `_("…")` (formatted after translating), never a literal or an f-string."""
    import ast

    src = ROOT / "src" / "frota"
    unmarked = []
    for path in sorted(src.rglob("*.py")):
        if str(path.relative_to(src)) in UNMARKED_FILES:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)):
                continue
            call = node.exc
            if ast.unparse(call.func).split(".")[-1] in NOT_SHOWN:
                continue
            texts = call.args[:1] + [k.value for k in call.keywords if k.arg == "hint"]
            for text in texts:
                literal = isinstance(text, ast.Constant) and isinstance(text.value, str)
                marked = any(
                    isinstance(n, ast.Call) and ast.unparse(n.func) == "_" for n in ast.walk(text)
                )
                if literal or (isinstance(text, (ast.JoinedStr, ast.BinOp)) and not marked):
                    where = f"{path.relative_to(src)}:{text.lineno}"
                    unmarked.append(f"{where}: {ast.unparse(text)[:70]}")
    assert not unmarked, "mark these with _() (CONTRIBUTING.md):\n" + "\n".join(unmarked)


def test_every_marked_message_is_extracted(template: Catalog) -> None:
    """pybabel reads no code inside an f-string (Python 3.11), so a `_("…")` or `N_("…")`
    written there is never extracted and shows in English whatever the language: every
    message the package marks, wherever it stands, is in the extracted template."""
    import ast

    marks = {"_", "N_", "ngettext", "Nn_"}
    found, missing = 0, []
    for path in sorted((ROOT / "src" / "frota").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in marks
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                continue
            found += 1
            message = node.args[0].value
            if template.get(message) is None and not any(
                message in (m.id if isinstance(m.id, tuple) else (m.id,)) for m in template
            ):
                missing.append(f"{path.relative_to(ROOT)}:{node.lineno}: {message!r}")
    assert found > 300
    assert not missing, "marked but never extracted (inside an f-string?):\n" + "\n".join(missing)
