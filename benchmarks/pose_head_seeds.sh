#!/usr/bin/env bash
# v0.9.2's pose head refitted with four seeds on its frozen landmarks and the four runs averaged, k measured on the
# training pool and set (benchmarks/pose_head_v092_seeds.yaml: the experiment and its rule). About 10 minutes a
# seed at one thread beside another run, after one labelling.
#
#   benchmarks/pose_head_seeds.sh [THREADS] [OUT]      (defaults: 1, runs/pose_head_v092_seeds.pt)
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=${1:-1}
OUT=${2:-runs/pose_head_v092_seeds.pt}
for seed in 16 17 18 19; do
    efld train benchmarks/pose_head_v092_seeds.yaml --threads "$THREADS" --seed "$seed" \
        --out "runs/pose_head_v092_s$seed" --no-progress
done
efld average runs/pose_head_v092_seeds_soup.pt runs/pose_head_v092_s{16,17,18,19}/last.pt
[ -d runs/pool_labels ] || efld label "${EFLD_DATA:-../shared/data}/aflw-21pt-crops" --out runs/pool_labels
python benchmarks/pose_profile_keep.py runs/pose_head_v092_seeds_soup.pt --labels runs/pool_labels --val \
    --out benchmarks/results/pose_profile_keep_head_seeds.json
KEEP=$(python3 -c "import json; print(json.load(open('benchmarks/results/pose_profile_keep_head_seeds.json'))['keep'])")
efld finish runs/pose_head_v092_seeds_soup.pt "$OUT" --pose-profile-keep "$KEEP"
