"""The fused reader: the sentence encoder's top layers, run again over a text and its target together.

The few-shot head compares two frozen embeddings made apart, so it cannot see *how* a text speaks of its
target ("critics of the plan said …", "denied that the plan failed"). A cross-encoder reads both at once
but costs a full pass per (text, target) pair. The fused reader sits between them. The encoder's pass over
a text, which the few-shot backend makes anyway, also yields the hidden states after layer ``fuse_at`` (4
of MiniLM's 6). The target's states are computed once per target. The reader puts the target's states
before the text's (a learnt segment vector marks the target's), runs trained copies of the encoder's
layers ``fuse_at`` … end over the joined sequence, so that every token attends to both, and classifies the
mean of the text's output states with the target's first one. Its cost is those top layers only (about a
third of a pass for 2 of 6 layers), not a second full pass.

It is trained on the shipped general set (``stance_general.jsonl``, team-written) and ships as
``data/stance_fused.safetensors`` (weights plus metadata; :func:`train_shipped`, ``make fused-reader``): the
average of the weights of two readers trained from the same start, one on the set's first batches (opinions in
many voices, news reported speech) and one on the whole set (with batch 3, more news reported speech and
first-person comments). The one trained on everything reads news reported speech better and comments and
tweets worse; their average keeps about half its gain on our news dev set, reads VAST's comments better than
either, and loses about one point of SemEval F_avg (:func:`average`; docs/stance.md). It reads the
states of the bundled all-MiniLM-L6-v2 only: the backend uses it when the encoder reproduces the packaged
general-set vectors (:func:`stancekit.generalvectors.matching`). A second reader, made by the same recipe on
all-mpnet-base-v2's layers 11-12 (MPNet's layers are BERT's plus a relative position bias shared by all layers,
copied too), ships as ``data/stance_fused_mpnet.safetensors`` (int8 rows, ``make fused-reader-mpnet``); the backend
uses it when its encoder embeds a probe sentence as mpnet did (:func:`probe_vector`). It is also trained on
general-set texts read against a second target (``data/stance_second_targets.jsonl``) and classifies from the
target's state alone (``train(pool="target")``), which lifted VAST and SemEval for mpnet at a small cost on news
(for MiniLM's smaller reader the cost was larger, so it is trained without them).

This module imports torch at import time; :mod:`stancekit.stance` imports it only when the reader is used.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from .stance import FUSED_FILE, FUSED_VERSION, fused_header  # the shipped reader
from .targets import LABELS

#: the encoder layer whose output states are read (MiniLM has 6; layers 5 and 6 are run again, fused)
FUSE_AT = 4
#: the most text tokens read in training and at inference (the first ones; a quote is rarely longer)
MAX_TEXT_TOKENS = 200
#: the shipped reader averages a reader trained on the general set's batches up to this one with a reader
#: trained on all of it, with this weight on the second (0.35 / 0.5 / 0.65 compared on the selection sets)
BASE_BATCHES = 2
AVERAGE_WEIGHT = 0.5
#: ``save(int8=True)`` stores weight matrices of at least this many values as int8 rows (the rest float16)
INT8_MIN_SIZE = 4096


class Block(torch.nn.Module):
    """One BERT encoder layer (post-norm self-attention and feed-forward), written out so that its weights
    can be copied from a loaded encoder and saved as plain tensors."""

    def __init__(self, hidden: int, heads: int, intermediate: int, eps: float, dropout: float = 0.1):
        super().__init__()
        self.heads = heads
        self.query, self.key, self.value = (torch.nn.Linear(hidden, hidden) for _ in range(3))
        self.attn_out = torch.nn.Linear(hidden, hidden)
        self.attn_norm = torch.nn.LayerNorm(hidden, eps=eps)
        self.ff_in = torch.nn.Linear(hidden, intermediate)
        self.ff_out = torch.nn.Linear(intermediate, hidden)
        self.ff_norm = torch.nn.LayerNorm(hidden, eps=eps)
        self.dropout = torch.nn.Dropout(dropout)

    def copy_from(self, layer) -> None:
        """Take the weights of a Hugging Face ``BertLayer`` or ``MPNetLayer`` (the same post-norm layer; MPNet
        names its attention projections ``attn.q`` … ``attn.o``)."""
        attention = layer.attention
        if hasattr(attention, "attn"):  # MPNet
            own = attention.attn
            projections = [own.q, own.k, own.v, own.o]
            attn_norm = attention.LayerNorm
        else:  # BERT
            own = attention.self
            projections = [own.query, own.key, own.value, attention.output.dense]
            attn_norm = attention.output.LayerNorm
        pairs = [*zip([self.query, self.key, self.value, self.attn_out], projections), (self.attn_norm, attn_norm),
                 (self.ff_in, layer.intermediate.dense), (self.ff_out, layer.output.dense),
                 (self.ff_norm, layer.output.LayerNorm)]
        for mine, theirs in pairs:
            mine.load_state_dict(theirs.state_dict())

    def forward(self, x: torch.Tensor, mask: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
        """``mask`` (batch × tokens) marks real tokens; ``bias`` (1 × heads × tokens × tokens), when given, is
        added to the attention scores (MPNet's relative position bias)."""
        b, n, d = x.shape
        split = lambda t: t.view(b, n, self.heads, d // self.heads).transpose(1, 2)  # noqa: E731
        keys = mask[:, None, None, :]
        if bias is not None:
            keys = bias.to(x.dtype).masked_fill(~keys, float("-inf"))
        a = F.scaled_dot_product_attention(split(self.query(x)), split(self.key(x)), split(self.value(x)),
                                           attn_mask=keys)
        x = self.attn_norm(x + self.dropout(self.attn_out(a.transpose(1, 2).reshape(b, n, d))))
        return self.ff_norm(x + self.dropout(self.ff_out(F.gelu(self.ff_in(x)))))


class FusedReader(torch.nn.Module):
    """Trained copies of an encoder's top layers over ``[target states; text states]`` and a linear head."""

    def __init__(self, *, hidden: int, heads: int, intermediate: int, layers: int, eps: float = 1e-12,
                 fuse_at: int = FUSE_AT, relative_buckets: int = 0, meta: dict | None = None):
        super().__init__()
        self.config = {"hidden": hidden, "heads": heads, "intermediate": intermediate, "layers": layers,
                       "eps": eps, "fuse_at": fuse_at}
        if relative_buckets:  # MPNet: a learnt bias per head and bucket of relative position, shared by the layers
            self.config["relative_buckets"] = relative_buckets
        self.fuse_at = fuse_at
        self.meta = dict(meta or {})
        self.blocks = torch.nn.ModuleList(Block(hidden, heads, intermediate, eps) for _ in range(layers))
        self.relative = torch.nn.Embedding(relative_buckets, heads) if relative_buckets else None
        self.segment = torch.nn.Parameter(torch.zeros(hidden))  # added to the target's states
        self.dropout = torch.nn.Dropout(0.1)
        self.classify = torch.nn.Linear(2 * hidden, len(LABELS))

    @classmethod
    def from_encoder(cls, model, fuse_at: int = FUSE_AT) -> "FusedReader":
        """A reader whose blocks start as copies of ``model``'s layers ``fuse_at`` … end (a BERT-like
        Hugging Face ``AutoModel``, e.g. all-MiniLM-L6-v2)."""
        cfg = model.config
        if getattr(cfg, "hidden_act", "gelu") != "gelu" or not hasattr(model, "encoder"):
            raise ValueError("the fused reader copies BERT-like layers with GELU activations")
        layers = model.encoder.layer[fuse_at:]
        if not len(layers):
            raise ValueError(f"the encoder has {len(model.encoder.layer)} layers; fuse_at={fuse_at} leaves none")
        relative = getattr(model.encoder, "relative_attention_bias", None)  # MPNet's
        reader = cls(hidden=cfg.hidden_size, heads=cfg.num_attention_heads, intermediate=cfg.intermediate_size,
                     layers=len(layers), eps=cfg.layer_norm_eps, fuse_at=fuse_at,
                     relative_buckets=relative.num_embeddings if relative is not None else 0)
        for block, layer in zip(reader.blocks, layers):
            block.copy_from(layer)
        if relative is not None:
            reader.relative.load_state_dict(relative.state_dict())
        return reader

    def position_bias(self, n: int) -> torch.Tensor | None:
        """MPNet's relative position bias over ``n`` joined tokens (1 × heads × n × n), or None (BERT)."""
        if self.relative is None:
            return None
        where = torch.arange(n, device=self.relative.weight.device)
        return self.relative(relative_bucket(where[None, :] - where[:, None], self.relative.num_embeddings)
                             ).permute(2, 0, 1).unsqueeze(0)

    def forward(self, states: torch.Tensor, mask: torch.Tensor, is_target: torch.Tensor) -> torch.Tensor:
        """Logits (batch × 3) of joined sequences (batch × tokens × hidden): ``mask`` marks real tokens,
        ``is_target`` the target's."""
        x = states + is_target.unsqueeze(-1).to(states.dtype) * self.segment
        bias = self.position_bias(x.shape[1])
        for block in self.blocks:
            x = block(x, mask, bias)
        text = (mask & ~is_target).unsqueeze(-1).to(x.dtype)
        pooled = torch.cat([(x * text).sum(1) / text.sum(1).clamp(min=1.0), x[:, 0]], dim=-1)
        return self.classify(self.dropout(pooled))

    # -- files -------------------------------------------------------------------------------------
    def save(self, path: str | Path, *, int8: bool = False) -> None:
        """Weights and metadata as safetensors (no pickle). float16 by default (half the file; inference runs in
        bf16 or fp32 either way); with ``int8``, each weight matrix is stored as int8 rows with a float16 scale
        per row (``NAME`` and ``NAME:scale``), half again: the mpnet reader's 28 MB become 14 MB, and its
        scores on the stance dev set and SemEval A train moved by less than 0.001 (benchmarks/RESULTS.md)."""
        from safetensors.torch import save_file

        from .generalvectors import quantize

        tensors = {}
        for k, v in self.state_dict().items():
            v = v.detach().float().cpu()
            if int8 and v.dim() == 2 and v.numel() >= INT8_MIN_SIZE:
                rows, scales = quantize(v.numpy())  # as the packaged general-set vectors are stored
                tensors[k] = torch.from_numpy(rows)
                tensors[k + ":scale"] = torch.from_numpy(scales).to(torch.float16)[:, None].contiguous()
            else:
                tensors[k] = v.to(torch.float16).contiguous()
        meta = {"version": FUSED_VERSION, "config": json.dumps(self.config), "meta": json.dumps(self.meta)}
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        save_file(tensors, str(path), metadata=meta)

    @classmethod
    def load(cls, path: str | Path = FUSED_FILE) -> "FusedReader":
        from safetensors.torch import load_file

        header = fused_header(path)  # refuses a file of another version
        reader = cls(**header["config"], meta=header["meta"])
        tensors = load_file(str(path))
        weights = {k: v.float() * tensors[k + ":scale"].float() if k + ":scale" in tensors else v
                   for k, v in tensors.items() if not k.endswith(":scale")}
        reader.load_state_dict(weights)  # copied into the fp32 parameters
        return reader.eval()


def relative_bucket(offset: torch.Tensor, buckets: int, max_distance: int = 128) -> torch.Tensor:
    """MPNet's bucket of each relative position ``offset`` (key position minus query position): half the
    buckets for keys after the query, half for keys before it; within each half, exact distances below a
    quarter of the buckets and logarithmically wider ones up to ``max_distance``."""
    half = buckets // 2
    exact = half // 2
    distance = offset.abs()
    far = exact + (torch.log(distance.float().clamp(min=1) / exact) / math.log(max_distance / exact)
                   * (half - exact)).long()
    within = torch.where(distance < exact, distance, far.clamp(max=half - 1))
    return within + (offset > 0).long() * half


def join(pairs: Sequence[tuple[np.ndarray, np.ndarray]], max_text: int | None = None):
    """Tensors for :meth:`FusedReader.forward` from (target states, text states) pairs (tokens × hidden
    each): the target's before the text's, at most ``max_text`` of the text's, padded to the longest."""
    n = max(len(g) + len(t[:max_text] if max_text else t) for g, t in pairs)
    x = np.zeros((len(pairs), n, pairs[0][0].shape[-1]), np.float32)
    mask = np.zeros((len(pairs), n), bool)
    is_target = np.zeros((len(pairs), n), bool)
    for i, (g, t) in enumerate(pairs):
        t = t[:max_text] if max_text else t
        x[i, :len(g)] = g
        x[i, len(g):len(g) + len(t)] = t
        mask[i, :len(g) + len(t)] = True
        is_target[i, :len(g)] = True
    return torch.from_numpy(x), torch.from_numpy(mask), torch.from_numpy(is_target)


def reader_engine(reader: FusedReader, *, device=None, precision: str = "fp32", max_tokens: int = 16384):
    """An :class:`~stancekit.engine.InferenceEngine` that runs ``reader`` (batching, autocast and device
    code stay in the engine): give it to :func:`proba`."""
    from .engine import InferenceEngine

    return InferenceEngine(reader, None, device=device or "cpu", precision=precision, max_tokens=max_tokens,
                           head=lambda logits, batch: logits.float().softmax(-1).cpu().numpy())


def proba(reader: FusedReader, target: np.ndarray, texts: Sequence[np.ndarray], *, engine=None) -> np.ndarray:
    """Class probabilities (n × 3, :data:`LABELS` order) of each text's states read with ``target``'s, in the
    engine's token-budget batches (:func:`reader_engine`; fp32 on the CPU when none is given)."""
    if not len(texts):
        return np.zeros((0, len(LABELS)), np.float32)
    engine = engine or reader_engine(reader)
    lengths = [len(target) + min(len(t), MAX_TEXT_TOKENS) for t in texts]

    def collate(idx: list[int]) -> dict:
        x, mask, is_target = join([(target, texts[i]) for i in idx], MAX_TEXT_TOKENS)
        return {"states": x, "mask": mask, "is_target": is_target}

    return engine.run_prepared(lengths, collate)


def data_digest(rows: Sequence[dict]) -> str:
    """A hash of the (text, target, label) rows a reader is trained on (stored in its metadata)."""
    return hashlib.sha256(json.dumps([[r["text"], r["target"], r["label"]] for r in rows]).encode()).hexdigest()[:16]


def layer_states(rows: Sequence[dict], encoder_source: str, fuse_at: int = FUSE_AT) -> dict[str, np.ndarray]:
    """The fp32 states after encoder layer ``fuse_at`` of every text and target of ``rows``, by string."""
    from .engine import InferenceEngine, load_hf, vector_and_states_head

    tokenizer, model = load_hf(encoder_source, task="feature-extraction")
    engine = InferenceEngine(model, tokenizer, device="cpu", precision="fp32", max_length=256,
                             head=vector_and_states_head(fuse_at), model_kwargs={"output_hidden_states": True})
    strings = sorted({r["text"] for r in rows} | {r["target"] for r in rows})
    return {s: row[1] for s, row in zip(strings, engine.run(strings, stack=False))}


def train(rows: Sequence[dict], encoder_source: str, *, epochs: int = 3, lr: float = 5e-5, batch: int = 16,
          seed: int = 0, fuse_at: int = FUSE_AT, encoder_name: str | None = None, log=print,
          states: dict[str, np.ndarray] | None = None, pool: str = "both") -> FusedReader:
    """Train a reader on ``rows`` (``text``, ``target``, ``label``) from the encoder at ``encoder_source``:
    the encoder's states in fp32 (:func:`layer_states`, computed once and frozen; pass ``states`` to reuse
    them), its top layers copied and trained with AdamW (weight decay 0.01, 10% warm-up, linear decay),
    cross-entropy, on the CPU. Seeded: a retrain differs only by float summation order (≤ 2.4e-4 a weight
    on the shipped reader).

    ``pool="target"`` classifies from the target's first output state alone: the classifier's weights on the
    text's mean state start at zero and get no gradient, so the reader must decide through what the target's
    token read in the text (the file keeps the shape of a ``"both"`` reader; benchmarks/RESULTS.md,
    2026-12-08, compares the two)."""
    if pool not in ("both", "target"):
        raise ValueError(f"pool must be 'both' or 'target', not {pool!r}")
    from .engine import load_hf

    if states is None:
        states = layer_states(rows, encoder_source, fuse_at)
    torch.manual_seed(seed)  # after the states: the head's initial weights are the same either way
    rng = np.random.default_rng(seed)
    reader = FusedReader.from_encoder(load_hf(encoder_source, task="feature-extraction")[1], fuse_at)
    reader.meta = {"encoder": encoder_name or str(encoder_source), "rows": len(rows), "epochs": epochs, "lr": lr,
                   "batch": batch, "seed": seed, "data": data_digest(rows)}
    if pool == "target":
        reader.meta["pool"] = pool
        keep = torch.ones_like(reader.classify.weight)
        keep[:, :reader.config["hidden"]] = 0.0  # the columns that read the text's mean state
        with torch.no_grad():
            reader.classify.weight.mul_(keep)
        reader.classify.weight.register_hook(lambda grad: grad * keep)  # AdamW's decay keeps zeros at zero
    y = torch.tensor([LABELS.index(r["label"]) for r in rows])
    opt = torch.optim.AdamW(reader.parameters(), lr=lr, weight_decay=0.01)
    steps = epochs * math.ceil(len(rows) / batch)
    warm = max(1, int(0.1 * steps))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (steps - s) / max(steps - warm, 1))))
    start = time.time()
    for epoch in range(epochs):
        reader.train()
        total = 0.0
        perm = rng.permutation(len(rows))
        for s in range(0, len(rows), batch):
            idx = perm[s:s + batch]
            x, mask, is_target = join([(states[rows[i]["target"]], states[rows[i]["text"]]) for i in idx],
                                      MAX_TEXT_TOKENS)
            loss = F.cross_entropy(reader(x, mask, is_target), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        log(f"epoch {epoch + 1}/{epochs}: loss {total / len(rows):.4f} ({time.time() - start:.0f} s)")
    return reader.eval()


def average(first: FusedReader, second: FusedReader, weight: float) -> FusedReader:
    """A reader whose every weight is ``(1 - weight) * first + weight * second`` (both trained from the same
    encoder layers, so their weights are comparable); its metadata lists both members'."""
    if first.config != second.config:
        raise ValueError("only readers of the same shape can be averaged")
    a, b = first.state_dict(), second.state_dict()
    out = FusedReader(**first.config)
    out.load_state_dict({k: (1.0 - weight) * a[k].float() + weight * b[k].float() for k in a})
    out.meta = {"encoder": first.meta.get("encoder"), "average": [first.meta, second.meta],
                "weights": [1.0 - weight, weight], "rows": second.meta.get("rows"), "data": second.meta.get("data")}
    return out.eval()


def train_shipped(rows: Sequence[dict], encoder_source: str, *, base_batches: int = BASE_BATCHES,
                  weight: float = AVERAGE_WEIGHT, log=print, **kwargs) -> FusedReader:
    """The shipped reader: :func:`average` of a reader trained on the rows of ``batch`` ≤ ``base_batches``
    and one trained on all ``rows`` (rows without a ``batch`` count as batch 1); the encoder's states are
    computed once for both."""
    base = [r for r in rows if int(r.get("batch", 1)) <= base_batches]
    if len(base) == len(rows):
        return train(rows, encoder_source, log=log, **kwargs)
    states = layer_states(rows, encoder_source, kwargs.get("fuse_at", FUSE_AT))
    log(f"reader 1 of 2: batches 1-{base_batches}, {len(base)} rows")
    first = train(base, encoder_source, log=log, states=states, **kwargs)
    log(f"reader 2 of 2: all {len(rows)} rows")
    second = train(rows, encoder_source, log=log, states=states, **kwargs)
    return average(first, second, weight)


def probe_vector(encoder_source: str) -> list[float]:
    """The encoder's embedding of :data:`~stancekit.stance.PROBE_TEXT` (fp32, rounded), stored in a reader's
    metadata so that a backend can tell whether its encoder is the one the reader was trained from."""
    from .stance import PROBE_TEXT, Encoder

    return [round(float(v), 5) for v in Encoder(encoder_source, device="cpu").encode([PROBE_TEXT])[0]]


def main(argv: Sequence[str] | None = None) -> None:  # pragma: no cover - a maintenance command
    """``python -m stancekit.fusion`` (``make fused-reader``, ``make fused-reader-mpnet``): train a reader on the
    general set, for the bundled MiniLM or another encoder (then with its probe vector, :func:`probe_vector`)."""
    import argparse

    from .sources import resolve_source
    from .stance import default_encoder_source, load_general_examples

    ap = argparse.ArgumentParser(prog="python -m stancekit.fusion", description=main.__doc__)
    ap.add_argument("--out", default=str(FUSED_FILE))
    ap.add_argument("--encoder", default=None, help="encoder name or folder (default: the bundled all-MiniLM-L6-v2)")
    ap.add_argument("--fuse-at", type=int, default=None, help="the layer whose states are read (default: all but "
                                                               "the top two)")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--int8", action="store_true", help="store weight matrices as int8 rows (half the file)")
    ap.add_argument("--extra", action="append", default=[], metavar="JSONL",
                    help="more training rows in the general set's format (text, target, label, batch); repeatable")
    ap.add_argument("--pool", choices=("both", "target"), default="both",
                    help="classify from the text's mean and the target's first state (default) or the target's alone")
    args = ap.parse_args(argv)
    rows = load_general_examples()
    digest = data_digest(rows)  # the general set's, which the shipped-reader tests compare with
    for extra in args.extra:
        if not Path(extra).is_file():
            ap.error(f"--extra {extra}: no such file")
        rows += load_general_examples(Path(extra))
    source = resolve_source(args.encoder) if args.encoder else default_encoder_source()
    fuse_at = args.fuse_at
    if fuse_at is None:
        from transformers import AutoConfig

        fuse_at = AutoConfig.from_pretrained(source).num_hidden_layers - 2
    reader = train_shipped(rows, source, epochs=args.epochs, lr=args.lr, seed=args.seed, fuse_at=fuse_at,
                           encoder_name=args.encoder or "all-MiniLM-L6-v2", pool=args.pool)
    if args.extra:
        reader.meta.update(general=digest, extra=[str(e) for e in args.extra])
    if args.encoder:
        reader.meta["probe"] = probe_vector(source)
    reader.save(args.out, int8=args.int8)
    print(f"wrote {args.out}")


if __name__ == "__main__":  # pragma: no cover
    main()
