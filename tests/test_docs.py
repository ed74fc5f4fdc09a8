"""The docs cannot drift: every grammar rule, keyword, error code, CLI command and option is documented."""

import re
from pathlib import Path

import pytest
import typer

from cohortql import omop
from cohortql.cli import app
from cohortql.parse.parser import keywords

ROOT = Path(__file__).resolve().parent.parent
GRAMMAR = (ROOT / "grammar" / "cohortql.lark").read_text(encoding="utf-8")
LANGUAGE = (ROOT / "docs" / "language.md").read_text(encoding="utf-8")
CLI = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
ARCHITECTURE = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")


def grammar_rules() -> list[str]:
    """Rule names (`name:`, `!name:`, `?name:` at column 0) and `-> alias` names."""
    rules = re.findall(r"^[!?]?([a-z_][a-z0-9_]*)\s*:", GRAMMAR, re.MULTILINE)
    aliases = re.findall(r"->\s*([a-z_][a-z0-9_]*)", GRAMMAR)
    return sorted(set(rules) | set(aliases))


def keyword_phrases() -> list[str]:
    """Keywords lexed by a regular expression (`DISTINCT_DAYS`), as the phrase a user types."""
    patterns = re.findall(r"^[A-Z_]+(?:\.\d+)?:\s*/([a-z\\+?]+)/", GRAMMAR, re.MULTILINE)
    # `days?` (singular or plural) is documented in its plural form.
    return [p.replace("\\s+", " ").replace("\\b", "").replace("?", "") for p in patterns]


def in_code(word: str, text: str) -> bool:
    """`word` (a whole word) inside some inline code span of `text`."""
    return re.search(r"`[^`\n]*(?<![\w])" + re.escape(word) + r"(?![\w])[^`\n]*`", text) is not None


def source_error_codes() -> list[str]:
    codes = set()
    for path in (ROOT / "cohortql").rglob("*.py"):
        codes |= set(re.findall(r"[\"'](E\d{3})[\"']", path.read_text(encoding="utf-8")))
    return sorted(codes)


def cli_commands(command=None, prefix: tuple[str, ...] = ()) -> list[str]:
    """Every command path registered on the app, sub-typers included: `check`, `db load`, ..."""
    command = command or typer.main.get_command(app)
    paths = []
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        paths.append(" ".join((*prefix, name)))
        paths += cli_commands(sub, (*prefix, name))
    return paths


def test_the_grammar_is_read():
    assert {"start", "event_criterion", "within", "at_least_group", "index_offset"} <= set(grammar_rules())
    assert "distinct days of" in keyword_phrases() and "ignoring observation period" in keyword_phrases()
    assert {"within", "exclude", "descendants"} <= keywords()
    assert {"check", "fmt", "explain"} <= set(cli_commands())
    assert {"E001", "E101"} <= set(source_error_codes())


@pytest.mark.parametrize("rule", grammar_rules())
def test_every_grammar_rule_is_documented(rule):
    assert f"`{rule}`" in LANGUAGE, f"grammar rule `{rule}` is missing from docs/language.md (Grammar rules table)"


@pytest.mark.parametrize("word", sorted(keywords() | set(keyword_phrases())))
def test_every_keyword_is_documented(word):
    assert in_code(word, LANGUAGE), f"keyword `{word}` is not shown as code in docs/language.md"


@pytest.mark.parametrize("code", source_error_codes())
def test_every_error_code_is_documented(code):
    assert re.search(rf"^\| {code} \| \S", LANGUAGE, re.MULTILINE), f"{code} is missing from the error code table"


def test_no_documented_error_code_is_stale():
    documented = set(re.findall(r"^\| (E\d{3}) \|", LANGUAGE, re.MULTILINE))
    assert documented == set(source_error_codes())


@pytest.mark.parametrize("command", cli_commands())
def test_every_cli_command_is_documented(command):
    heading = re.compile(rf"^#+ cohortql {re.escape(command)}\s*$", re.MULTILINE)
    assert heading.search(CLI), f"docs/cli.md needs a heading `## cohortql {command}`"


def cli_options() -> list[tuple[str, str]]:
    """(command path, option) for every option of every command: `("load", "--parquet")`."""
    root = typer.main.get_command(app)
    found = []
    for path in cli_commands():
        command = root
        for name in path.split():
            command = command.commands[name]
        for param in command.params:
            found += [(path, option) for option in param.opts if option.startswith("--") and option != "--help"]
    return found


@pytest.mark.parametrize(("command", "option"), cli_options())
def test_every_cli_option_is_documented(command, option):
    mentioned = re.search(r"(?<![\w-])" + re.escape(option) + r"(?![\w-])", CLI)  # prose, code or a synopsis
    assert mentioned, f"docs/cli.md never mentions `{option}` (of `cohortql {command}`)"


def test_no_documented_cli_command_is_stale():
    documented = set(re.findall(r"^#+ cohortql (.+?)\s*$", CLI, re.MULTILINE))
    assert documented == set(cli_commands())


@pytest.mark.parametrize(
    ("table", "values"),
    [
        ("units", omop.UNIT_CONCEPTS),
        ("visit types", omop.VISIT_CONCEPTS),
        ("sexes", omop.GENDER_CONCEPTS),
        ("breakdowns", {name: None for name in omop.BREAKDOWNS}),
        ("source vocabularies", {name: None for name in omop.SOURCE_VOCABULARIES}),
    ],
)
def test_reference_tables_match_omop_facts(table, values):
    for name, concept_id in values.items():
        row = f"| `{name}` | {concept_id} |" if concept_id is not None else f"`{name}`"
        assert row in LANGUAGE, f"{table}: {row} is missing from docs/language.md"


def test_every_stage_folder_is_in_the_architecture():
    for folder in sorted(p.name for p in (ROOT / "cohortql").iterdir() if (p / "__init__.py").exists()):
        assert f"`cohortql/{folder}/" in ARCHITECTURE, f"cohortql/{folder}/ is missing from docs/architecture.md"


def test_ci_runs_the_readme_test_command():
    blocks = re.findall(r"^```sh\n(.*?)^```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S | re.M)
    assert len(blocks) >= 2, "README.md's quick start needs a second ```sh block: the test command"
    lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    commands = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    assert commands[-1] == blocks[1].strip()
