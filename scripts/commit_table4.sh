#!/bin/bash
# Commits a consistent snapshot of the Table 4 histories that running
# `sed-ctc experiments table4 --publish` keeps rewriting, with everything
# generated from them: a snapshot in which each best_test.json is its
# history's best epoch -> a clean worktree of HEAD -> table4.csv, the Table 4
# page, the README's results region, the Table 4 notebook and its figure
# regenerated there -> their tests -> commit there -> fast-forward this
# checkout (its live copies are replaced by the committed ones until the
# runs publish again).
# Usage: scripts/commit_table4.sh "commit message"
set -euo pipefail
MAIN=$(cd "$(dirname "$0")/.." && pwd); WT=${WT:-/tmp/table4-commit}; PY=$MAIN/.venv/bin/python
cd $MAIN
rm -rf /tmp/t4snap && mkdir /tmp/t4snap
$PY - "$MAIN/notebooks/histories/table4" <<'PY'
import json, shutil, sys
from pathlib import Path
root = Path(sys.argv[1])
for attempt in range(20):
    files = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    ok = True
    for h in root.glob("*/history.json"):
        rows = json.loads(files[h])["epochs"]
        b = h.parent / "best_test.json"
        scored = [r for r in rows if r.get("val_ter") is not None]
        if scored and b in files:
            top = min(scored, key=lambda r: r["val_ter"])
            if json.loads(files[b])["epoch"] != top["epoch"]:
                ok = False
    if ok:
        break
else:
    sys.exit("no consistent snapshot")
for p, data in files.items():
    out = Path("/tmp/t4snap") / p.relative_to(root)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
print("snapshot of", len(files), "files")
PY
git worktree remove --force $WT 2>/dev/null || true
git worktree add -f --detach $WT HEAD > /dev/null
rm -rf $WT/notebooks/histories/table4 && cp -r /tmp/t4snap $WT/notebooks/histories/table4
cd $WT
$PY -c "
import sys; sys.path.insert(0, 'scripts'); sys.path.insert(0, '.')
from sed.experiments import write_table4
write_table4('notebooks/histories/table4')
import write_docs
from pathlib import Path
Path('docs/table4.md').write_text(write_docs.table4_page())
readme = Path('README.md')
readme.write_text(write_docs.fill_regions(readme.read_text(), write_docs.region_makers(), 'README.md'))
" 2>/dev/null
$PY scripts/build_notebooks.py table4_feature_layers.ipynb 2>&1 | grep "ran in"
$PY -m pytest -q -p no:cacheprovider tests/test_docs.py tests/test_histories.py -k "table4 or histor or README" 2>&1 | tail -1
git add -A notebooks/histories/table4 docs/table4.md README.md notebooks/table4_feature_layers.ipynb notebooks/figures/table4_seeds.png notebooks/figures/table4_feature_layers.png
git commit -qm "${1:-Table 4 histories so far; Table 4 page regenerated}"
NEW=$(git rev-parse HEAD)
cd $MAIN
git checkout -q -- notebooks/histories/table4 docs/table4.md README.md notebooks/table4_feature_layers.ipynb notebooks/figures
git clean -fdq notebooks/histories/table4 notebooks/figures
git merge -q --ff-only $NEW
git log --oneline | head -1
