#!/usr/bin/env bash
# A trained network read the way every release since v0.9.5 reads it (issue 3): its own figures on val, a pose head
# from scratch on the frozen network (benchmarks/pose_head_NAME.yaml, whose init is runs/NAME_no_head.pt), read
# mirror-averaged, k from the y pool (benchmarks/finish_calibrated.sh), then `efld compare` against AGAINST (v0.9.6,
# the default, v0.9.7, v0.9.8 or v0.9.9). About 17 minutes on 2 cores. The last steps of train_jaw_offset_soup.sh.
#
#   [AGAINST=v0.9.9] benchmarks/fresh_head.sh NAME NETWORK
#   (writes runs/NAME.pt and benchmarks/results/{eval_distill,pose_profile_keep_pose_head}_NAME.json and
#   compare_vXYZ_NAME.json for AGAINST vX.Y.Z)
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -eq 2 ] || { sed -n '2,9p' "$0" >&2; exit 2; }
NAME=$1 NETWORK=$2
DATA=${EFLD_DATA:-../shared/data}
case ${AGAINST:-v0.9.6} in
    v0.9.6) BASE=models/efld-mnv3s-0.5/stage12/efld.pt ;;
    v0.9.7) BASE=models/efld-mnv3s-0.5/stage13/efld.pt ;;
    v0.9.8) BASE=models/efld-mnv3s-0.5/stage14/efld.pt ;;
    v0.9.9) BASE=models/efld-mnv3s-0.5/efld.pt ;;  # stage15/efld.pt once a later release ships
    *) echo "AGAINST must be v0.9.6, v0.9.7, v0.9.8 or v0.9.9, got $AGAINST" >&2; exit 2 ;;
esac
TAG=$(echo "${AGAINST:-v0.9.6}" | tr -d '.')
efld eval "$NETWORK" "$DATA/aflw2000-3d-val" --threads 2 --json "benchmarks/results/eval_distill_$NAME.json"
python benchmarks/pose_head_init.py --fresh "$NETWORK" "runs/${NAME}_no_head.pt"
efld train "benchmarks/pose_head_$NAME.yaml" --threads 2 --no-progress
efld finish "runs/pose_head_$NAME/last.pt" "runs/pose_head_${NAME}_mirror.pt" --pose-mirror
JAW_OFFSET=y benchmarks/finish_calibrated.sh "runs/pose_head_${NAME}_mirror.pt" \
    "benchmarks/results/pose_profile_keep_pose_head_$NAME.json" "runs/$NAME.pt"
efld compare "$BASE" "runs/$NAME.pt" "$DATA/aflw2000-3d-val" --threads 2 \
    --json "benchmarks/results/compare_${TAG}_$NAME.json"
