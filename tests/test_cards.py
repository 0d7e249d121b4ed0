"""Model cards: one per preset, from its metadata and history;
``soundnet-keras info`` prints them."""

import json

import pytest

from soundnet_keras.cards import PAPER_EPOCHS, model_card
from soundnet_keras.cli import main
from soundnet_keras.weights import HISTORIES_DIR, PRESETS, recorded_sha256


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_has_a_card_with_its_facts(name):
    card = model_card(name)
    preset = PRESETS[name]
    assert card.startswith(f"# {name}\n")
    assert f"sha256 `{recorded_sha256(preset['file'])}`" in card
    rate = {"soundnet8": "22,050 Hz"}.get(preset["model"], "16,000 Hz")
    assert rate in card
    for section in ("## Architecture and input", "## Training",
                    "## Use and limits", "## Licence and checksum"):
        assert section in card
    history = HISTORIES_DIR / f"{name}.history.json"
    if history.is_file():
        epochs = json.loads(history.read_text())["epochs"]
        best = min(epochs, key=lambda r: r["val_kl"])
        assert f"Best validation KL {best['val_kl']:.4f} at epoch " \
               f"{best['epoch']}" in card
        assert f"{len(epochs)} epochs of" in card
        assert f"the paper: {PAPER_EPOCHS[preset['model']]} epochs" in card
    licence = "MIT" if preset["model"] == "soundnet8" else "Apache-2.0"
    assert licence in card


def test_info_prints_the_card(capsys):
    assert main(["info", "snr_scratch_pool"]) == 0
    assert capsys.readouterr().out == model_card("snr_scratch_pool")
    with pytest.raises(SystemExit) as stop:
        main(["info", "no_such_preset"])
    assert stop.value.code == 2
    assert "invalid choice: 'no_such_preset'" in capsys.readouterr().err


def test_one_version_and_a_changelog_entry_for_it():
    """``soundnet_keras.__version__`` is the version; CITATION.cff and the
    changelog's newest entry name it, and that entry gives every shipped
    preset's sha256 as its folder's metadata.json records it."""
    import re
    from pathlib import Path
    import soundnet_keras as sk
    root = Path(__file__).resolve().parent.parent
    citation = (root / "CITATION.cff").read_text()
    assert re.search(r"^version: (\S+)$", citation, re.M).group(1) == \
        sk.__version__
    changelog = (root / "CHANGELOG.md").read_text()
    newest = re.search(r"^## (\S+) ", changelog, re.M).group(1)
    assert newest == sk.__version__
    entry = " ".join(changelog.split(f"## {newest} ")[1].split("\n## ")[0]
                     .split())
    for name, preset in PRESETS.items():
        digest = recorded_sha256(preset["file"])
        assert f"`{name}` {digest[:12]}" in entry, name
