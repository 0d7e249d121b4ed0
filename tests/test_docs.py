"""The generated documentation pages are up to date, and the site's
pages are all in its navigation."""

from pathlib import Path

import pytest
import yaml

from conftest import load_script

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def generated():
    return load_script("write_docs").pages()


@pytest.mark.parametrize("name", ["cli.md", "api.md", "models.md",
                                  "reliability.md", "table4.md",
                                  "reproduction.md"])
def test_generated_pages_are_up_to_date(generated, name):
    """``python scripts/write_docs.py`` regenerates them from the code and
    the committed results: any difference fails (rerun the script)."""
    path = ROOT / "docs" / name
    assert generated[path] == path.read_text(), \
        f"docs/{name} is out of date: run python scripts/write_docs.py"


def test_every_page_is_in_the_navigation():
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())

    def pages(items):
        for item in items:
            for value in item.values():
                yield from pages(value) if isinstance(value, list) else \
                    [value]
    listed = set(pages(config["nav"]))
    present = {p.name for p in (ROOT / "docs").glob("*.md")}
    assert listed == present


def test_readme_is_short_and_links_every_page():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 200
    for page in (ROOT / "docs").glob("*.md"):
        assert f"(docs/{page.name})" in readme, page.name


def test_cli_page_lists_every_command(generated):
    from sed.cli import parser as sed_parser
    from soundnet_keras.cli import parser as sk_parser
    text = generated[ROOT / "docs" / "cli.md"]
    for program, make in (("soundnet-keras", sk_parser),
                          ("sed-ctc", sed_parser)):
        for name in make()._subparsers._group_actions[0].choices:
            assert f"### {program} {name}\n" in text
