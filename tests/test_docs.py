"""The documentation renders and its commands exist: code fences balance (one missing fence
turns the rest of a page into code), a setting is listed once per table, every `sisra …`
command shown in a shell block is a real command, and the identifiers given as examples
pass their check keys."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sisra.cli import app
from sisra.common.identifiers import luhn_valid

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
FENCE = re.compile(r"^\s*```")


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("path", DOCS, ids=_name)
def test_code_fences_balance(path: Path) -> None:
    fences = [n for n, line in enumerate(path.read_text().splitlines(), 1) if FENCE.match(line)]
    assert len(fences) % 2 == 0, f"{_name(path)}: unbalanced fence, lines {fences}"


@pytest.mark.parametrize("path", DOCS, ids=_name)
def test_each_setting_is_listed_once_per_table(path: Path) -> None:
    seen: dict[str, int] = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.startswith("|"):
            seen = {}  # a new table starts after any other line
            continue
        found = re.match(r"\|\s*`(SISRA_[A-Z0-9_]+)`\s*\|", line)
        if found:
            name = found.group(1)
            assert name not in seen, f"{_name(path)}:{number} repeats line {seen[name]}"
            seen[name] = number


def _shell_commands() -> list[tuple[str, list[str]]]:
    """Every `sisra …` line inside a ```sh block: its command path (the lower-case words)."""
    found = []
    for path in DOCS:
        inside = False
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if FENCE.match(line):
                inside = not inside and line.strip() in ("```sh", "```bash", "```console")
                continue
            if not inside:
                continue
            command = line.split("#", 1)[0].split("|")[-1].strip()
            command = re.sub(r"^(sudo( -u \S+)? |\S*/)", "", command)
            command = re.sub(r"^(\.venv/bin/)", "", command)
            if not command.startswith("sisra "):
                continue
            words = []
            for word in command.split()[1:]:
                if not re.fullmatch(r"[a-z][a-z-]*", word) or len(words) == 2:
                    break
                words.append(word)
            found.append((f"{_name(path)}:{number}", words))
    return found


COMMANDS = _shell_commands()


def test_the_docs_show_commands() -> None:
    assert len(COMMANDS) > 10  # the extraction itself works


@pytest.mark.parametrize(("where", "words"), COMMANDS, ids=[w for w, _ in COMMANDS])
def test_every_sisra_command_in_the_docs_exists(where: str, words: list[str]) -> None:
    # a group followed by an unknown word fails ("No such command"); a command followed by a
    # lower-case argument (`sisra demo --serve`, `sisra serve …`) shows its help
    result = CliRunner().invoke(app, [*words, "--help"])
    assert result.exit_code == 0, f"{where}: sisra {' '.join(words)} — {result.output}"


def test_rpps_examples_pass_their_check_key() -> None:
    for path in DOCS:
        for number, rpps in (
            (n, m.group(1))
            for n, line in enumerate(path.read_text().splitlines(), 1)
            for m in re.finditer(r"--rpps (\d{11})\b", line)
        ):
            assert luhn_valid(rpps), f"{_name(path)}:{number}: RPPS {rpps} fails its check key"


def test_the_architecture_map_names_each_platform_package_once() -> None:
    """docs/architecture.md's map of the platform: every package under `src/sisra/platform`
    (and the developer tools beside it) on one line of its own, none twice."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    start = text.index("## The platform, layer by layer")
    fence = text[text.index("```", start) : text.index("```", text.index("```", start) + 3)]
    platform = ROOT / "src" / "sisra" / "platform"
    packages = sorted(p.name for p in platform.iterdir() if (p / "__init__.py").exists())
    named = {
        name: len(re.findall(rf"(?<![\w.]){name}/(?=\s)", fence))
        for name in [*packages, "devtools"]
    }
    assert {name: n for name, n in named.items() if n != 1} == {}
