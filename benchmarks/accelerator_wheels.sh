#!/usr/bin/env bash
# Downloads the wheels benchmarks/accelerator.py needs on the GPU machine, which has
# jax/jaxlib 0.11.2 (CUDA 13), flax, optax, chex, orbax-checkpoint, rich, pyyaml,
# matplotlib, seaborn, pandas, scipy, lxml, xxhash, pillow, absl-py and etils, but no
# network and no gymnax / brax / mujoco. Python 3.12, manylinux x86-64, no
# dependencies resolved by pip: WHEELS below is the complete set (checked by
# importing gymnax, brax and mujoco.mjx from a --no-deps --no-index target dir in a
# Python 3.12 venv here; tests/test_accelerator.py checks the pins against
# pyproject.toml's bounds).
#
#   bash benchmarks/accelerator_wheels.sh [DIR]      # default DIR: .whl (git-ignored)
#
# Not downloaded, on purpose: warp-lang (~150 MB; mujoco.mjx imports it only for its
# optional Warp backend and carries on without it), flask / flask-cors /
# ml-collections / tensorboardX (brax's training and serving code, not imported by
# brax.envs), mujoco-studio-wasm (the browser viewer).
set -euo pipefail

DIR="${1:-.whl}"
PYTHON="${PYTHON:-python3}"

# name==version, one per line. gymnax, brax, mujoco and mujoco-mjx are pinned inside
# pyproject.toml's bounds; the rest are what those import at run time.
WHEELS=(
  "gymnax==1.0.1"
  "gymnasium==1.3.0"
  "farama-notifications==0.0.6"
  "brax==0.14.2"
  "jaxopt==0.8.5"
  "trimesh==5.2.0"
  "mujoco==4.0.1"
  "mujoco-core==4.0.1"
  "mujoco-studio==4.0.1"
  "mujoco-mjx==3.17.0"
  "glfw==2.11.0"
  "pyopengl==3.1.10"
)

mkdir -p "$DIR"
for spec in "${WHEELS[@]}"; do
  "$PYTHON" -m pip download --quiet --no-deps --only-binary=:all: \
    --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    --platform manylinux1_x86_64 --platform any \
    -d "$DIR" "$spec"
done

total=$(du -cb "$DIR"/*.whl | tail -1 | cut -f1)
echo "downloaded $(ls "$DIR"/*.whl | wc -l) wheels, $((total / 1024 / 1024)) MiB, into $DIR"
if [ "$total" -gt $((60 * 1024 * 1024)) ]; then
  echo "WARNING: over 60 MiB; with the repository this may not fit one 64 MiB device call" >&2
fi
echo "install on the GPU machine (repository root, $DIR carried):"
echo "python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site $DIR/*.whl && export PYTHONPATH=/tmp/site:\$PWD"
