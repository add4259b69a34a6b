"""Train tiny random-weight models with a fixed seed on CPU; print per-20-step losses and a hash of the
saved weights for each architecture. Run it before and after a change to the training code: equal hashes
mean the change kept training bit-identical.

    PYTHONPATH=src OMP_NUM_THREADS=1 python benchmarks/train_repro.py OUT.json [--precision fp32 --lr 3e-4]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--precision", default=None, help="auto (default), fp32 or bf16")
    parser.add_argument("--lr", type=float, default=3e-5)
    args = parser.parse_args()

    import torch
    from safetensors.torch import load_file

    torch.set_num_threads(1)
    sys.path.insert(0, str(REPO / "tests"))
    from tiny_models import build_encoder

    from stancekit.train import train_stance

    words = ["good", "bad", "great", "terrible", "support", "oppose", "vote", "today", "law", "plan"]
    rows = [{"target": ["nuclear power", "the minimum wage"][i % 2],
             "text": f"we {words[i % 10]} the {words[(i * 3) % 10]} plan {i}",
             "label": ["favor", "against", "neutral"][(i % 10) % 3]} for i in range(48)]
    tmp = Path(tempfile.mkdtemp())
    data = tmp / "train.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    base = build_encoder(tmp / "enc")
    out = {}
    for name, arch, epochs in [("cross", "cross", 5), ("biencoder", "biencoder", 5), ("hybrid", "hybrid", 5),
                               ("biencoder-probe", "biencoder", 0)]:
        losses: list = []
        info = train_stance([data], base=str(base), out=tmp / name, epochs=epochs, batch_size=4, max_length=32,
                            device="cpu", arch=arch, seed=7, precision=args.precision, lr=args.lr,
                            progress=losses.append)
        h = hashlib.sha256()
        for f in sorted((tmp / name).glob("*.safetensors")):
            tensors = load_file(str(f))
            for key in sorted(tensors):
                h.update(key.encode())
                h.update(tensors[key].float().numpy().tobytes())
        out[name] = {"losses": [round(p["loss"], 6) for p in losses], "final_loss": info["final_loss"],
                     "steps": info["settings"]["steps"], "probe": info["linear_probe"],
                     "weights_sha256": h.hexdigest()}
        print(name, out[name], flush=True)
    args.out.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
