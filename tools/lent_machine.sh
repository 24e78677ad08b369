#!/usr/bin/env bash
# Train on a lent accelerator machine that has PyTorch and the common scientific packages (numpy,
# scipy, OpenCV, ...) but not albumentations, the data or a network: the device sessions' recipe.
#
#   bash tools/lent_machine.sh prepare [LSPET_ROOT]
#       here, with the package registry reachable: a compact LSPET copy of the `train` people
#       (9000 of the shared 9500: 82.5 MB at --quality 65, over the 64 MiB carry limit; lower the quality)
#       as .devdata/lspet.tgz (datasets/compact_lspet.py) and the wheels torch does not bring
#       (albumentations, albucore, pydantic and what they need) in .whl/, for the lent machine's Python
#       (LENT_PYTHON, default 3.12); prints the sizes to carry.
#   bash tools/lent_machine.sh train BUDGET_S NAME [TRAIN_ARGS...]
#       there, from the repository root with .devdata/lspet.tgz and .whl/ carried: unpacks the
#       data, installs the wheels into /tmp/site, links ../shared/data/lspet to the copy, times
#       the loader, then runs tools/budget_train.py for BUDGET_S seconds with TRAIN_ARGS and writes
#       NAME.pt (half precision) and the run's log.csv and summary.json to $OUT (default out/).
#
# Pack and score what comes back where the held-out images are:
#   .venv/bin/python tools/pack_weights.py FILE.pt --name NAME --data-root ../shared/data/lspet
set -euo pipefail

usage() { { echo "usage:"; sed -n "2,17p" "$0" | sed "s/^# \{0,1\}//"; } >&2; exit 2; }

prepare() {
    local root=${1:-../shared/data/lspet}
    local py=${PYTHON:-.venv/bin/python}
    local lent=${LENT_PYTHON:-3.12}
    [[ -f "$root/joints.mat" ]] || { echo "error: no LSPET at $root (joints.mat missing); pass its folder" >&2; exit 2; }
    if [[ -f .devdata/lspet.tgz ]]; then
        echo "keeping .devdata/lspet.tgz (delete it to rebuild)"
    else
        rm -rf .devdata/lspet
        "$py" datasets/compact_lspet.py "$root" .devdata/lspet --margin 1.1 --only-split train --quality 65
        tar czf .devdata/lspet.tgz -C .devdata lspet
    fi
    rm -rf .whl  # a stale version of a package next to a new one would stop the install there
    local platforms=()
    for p in manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_24_x86_64 manylinux_2_17_x86_64 \
        manylinux2014_x86_64 manylinux1_x86_64; do platforms+=(--platform "$p"); done
    "$py" -m pip download -q --no-deps --only-binary=:all: --python-version "$lent" --implementation cp \
        "${platforms[@]}" -d .whl albumentations==2.0.8 albucore==0.0.24 pydantic==2.14.4 \
        pydantic_core==2.50.5 annotated-types==0.8.0 typing-inspection==0.4.5 simsimd==6.5.16 \
        stringzilla==5.3.2 typing_extensions==4.16.0
    local tree data wheels
    tree=$(git ls-files -z | xargs -0 stat -c %s 2>/dev/null | awk '{s += $1} END {print s + 0}' || true)
    data=$(du -b .devdata/lspet.tgz | cut -f1)
    wheels=$(du -cb .whl/*.whl | tail -1 | cut -f1)
    echo "to carry: tree $((tree / 1048576)) MiB + .devdata/lspet.tgz $((data / 1048576)) MiB" \
        "+ .whl $((wheels / 1048576)) MiB = $(((tree + data + wheels) / 1048576)) MiB (the device takes 64 MiB)"
    echo 'run there: bash tools/lent_machine.sh train BUDGET_S NAME --preset ...   (carry [".whl", ".devdata/lspet.tgz"])'
}

train() {
    [[ $# -ge 2 ]] || usage
    local budget=$1 name=$2 out=${OUT:-out} status=0
    shift 2
    [[ $budget =~ ^[0-9]+$ ]] || { echo "error: BUDGET_S must be whole seconds, got '$budget'" >&2; exit 2; }
    [[ -f .devdata/lspet.tgz ]] || { echo "error: .devdata/lspet.tgz is missing: carry it (run 'prepare' first)" >&2; exit 2; }
    compgen -G ".whl/*.whl" >/dev/null || { echo "error: no wheels in .whl/: carry them (run 'prepare' first)" >&2; exit 2; }
    [[ ! -e "runs/$name" ]] || { echo "error: runs/$name already exists: choose another NAME" >&2; exit 2; }
    mkdir -p "$out"
    [[ -f .devdata/lspet/joints.mat ]] || tar xzf .devdata/lspet.tgz -C .devdata
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
    export PYTHONPATH=/tmp/site:$PWD
    mkdir -p ../shared/data
    if [[ ! -e ../shared/data/lspet ]]; then ln -sfn "$PWD/.devdata/lspet" ../shared/data/lspet; fi
    nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null || true
    local preset=lspet-hg2-gpu bench=() args=("$@") i
    for ((i = 0; i < ${#args[@]}; i++)); do
        case ${args[i]} in
            --preset) preset=${args[i + 1]:-$preset} ;;
            --preset=*) preset=${args[i]#--preset=} ;;
            --batch-size) bench=(--batch-size "${args[i + 1]:-}") ;;
            --batch-size=*) bench=(--batch-size "${args[i]#--batch-size=}") ;;
        esac
    done
    python3 -m benchmarks.bench_loader --preset "$preset" --data-root ../shared/data/lspet --workers 8 14 \
        "${bench[@]}" || true
    python3 tools/budget_train.py --budget-s "$budget" --out "runs/$name" --export "$out/$name.pt" -- \
        --data-root ../shared/data/lspet "$@" || status=$?
    cp "runs/$name/log.csv" "runs/$name/summary.json" "$out/" 2>/dev/null || true
    exit "$status"
}

case ${1:-} in
    prepare) shift; prepare "$@" ;;
    train) shift; train "$@" ;;
    *) usage ;;
esac
