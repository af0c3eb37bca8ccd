#!/usr/bin/env bash
# Ship a checkpoint as the default model: the mechanical steps every release since v0.8.0 took by hand, in one
# command. The shipped efld.pt moves to stage<STAGE>/efld.pt (configs that trained from it must then name that
# path), CANDIDATE is finished into efld.pt with the profile pose calibration's KEEP, exported through the int8
# gate, released as models/efld-mnv3s-0.5-v<VERSION>/ with the model card, the previous release folder removed
# (its files stay in the git history), the release folder named in the model card and the ARM harness's README,
# and the figures re-recorded: record_model.sh, record.sh and the
# youtube-faces-68 test split. The CPU must be otherwise idle (record.sh times the models). What it does not
# do: write the release's figures into README.md, benchmarks/README.md and the model card, which cite them.
#
#   benchmarks/release.sh CANDIDATE VERSION KEEP STAGE
#   e.g. benchmarks/release.sh runs/distill_consistency_soup3.pt 0.9.3 0.82 8
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -eq 4 ] || { sed -n '2,11p' "$0" >&2; exit 2; }
CAND=$1 VERSION=${2#v} KEEP=$3 STAGE=$4
NAME=efld-mnv3s-0.5
SHIP=models/$NAME/efld.pt
KEPT=models/$NAME/stage$STAGE/efld.pt
PREV=$(ls -d models/$NAME-v*/ | sort -V | tail -n 1)
PREV=${PREV%/}
[ -f "$CAND" ] || { echo "release.sh: $CAND: no such checkpoint" >&2; exit 1; }
[ ! -e "$KEPT" ] || { echo "release.sh: $KEPT exists: choose the next stage number" >&2; exit 1; }
[ ! -e "models/$NAME-v$VERSION" ] || { echo "release.sh: models/$NAME-v$VERSION exists: releases are immutable" >&2; exit 1; }

mkdir -p "$(dirname "$KEPT")"
git mv "$SHIP" "$KEPT"
efld finish "$CAND" "$SHIP" --pose-profile-keep "$KEEP"
EXPORT=$(mktemp -d)
efld-export --int8 --out "$EXPORT/export"
sed -i "s#\.\./$NAME-v[0-9.]*[0-9]/#../$NAME-v$VERSION/#g" "models/$NAME/MODEL_CARD.md"  # its pointer to the release
efld release "$EXPORT/export" --version "$VERSION" --card "models/$NAME/MODEL_CARD.md"
rm -rf "$EXPORT"
git rm -r -q "$PREV"
sed -i "s#models/$NAME-v[0-9.]*[0-9]/#models/$NAME-v$VERSION/#g" android_harness/README.md
benchmarks/record_model.sh
benchmarks/record.sh
efld eval "$SHIP" "${EFLD_DATA:-../shared/data}/youtube-faces-68:test" \
    --json "benchmarks/results/eval_youtube_test_v$VERSION.json"
