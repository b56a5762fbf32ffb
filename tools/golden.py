#!/usr/bin/python3
"""Golden fixtures from PyTorch for randlab's nn, optim and checkpoint code.

Run by hand (CI has no PyTorch):  /usr/bin/python3 tools/golden.py
Writes test/fixtures/golden/ (deterministic: fixed seeds, CPU, float32, one thread):
  <model>.weights.safetensors  the model's initial state_dict exactly as PyTorch holds it
                               (num_batches_tracked as I64): the "PyTorch-written checkpoint"
  <model>.golden.safetensors   input, labels, train-mode logits, loss, every parameter gradient,
                               the buffers after that forward, and parameters/buffers and eval
                               logits after 3 optimiser steps (settings in the file's metadata)
  dtypes.safetensors           one set of values stored as F32, F64, F16, BF16, I64, I32
Then runs test/golden.test.ts with RANDLAB_REQUIRE_TORCH=1, so that randlab checks its numbers
against these files and PyTorch loads a randlab-written checkpoint with strict=True
(through `golden.py check-load`, which the test calls).

  golden.py check-load --model NAME --checkpoint FILE --expect FILE
builds NAME in PyTorch, loads FILE (a randlab model .safetensors) with load_state_dict(strict=True),
and checks that its eval-mode logits on the fixture input match the `logits` tensor in the
--expect file (written by randlab).
"""
import argparse
import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "test" / "fixtures" / "golden"
STEPS = 3

# --- safetensors, by hand (the `safetensors` package is not in Debian) ------------------------

DTYPE_NAMES = {
    torch.float32: "F32",
    torch.float64: "F64",
    torch.float16: "F16",
    torch.bfloat16: "BF16",
    torch.int32: "I32",
    torch.int64: "I64",
}
NUMPY_DTYPES = {"F32": "<f4", "F64": "<f8", "F16": "<f2", "I32": "<i4", "I64": "<i8"}
TORCH_DTYPES = {name: dtype for dtype, name in DTYPE_NAMES.items()}


def tensor_bytes(t):
    t = t.detach().contiguous().cpu()
    if t.dtype == torch.bfloat16:  # numpy has no bfloat16: store the raw 16-bit patterns
        return t.view(torch.int16).numpy().astype("<i2").tobytes()
    return t.numpy().astype(NUMPY_DTYPES[DTYPE_NAMES[t.dtype]]).tobytes()


def save_safetensors(path, tensors, metadata=None):
    header = {}
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    blobs = []
    offset = 0
    for name, t in tensors.items():
        data = tensor_bytes(t)
        header[name] = {"dtype": DTYPE_NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    tmp = Path(f"{path}.tmp")
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for data in blobs:
            f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def load_safetensors(path):
    raw = Path(path).read_bytes()
    (length,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + length])
    metadata = header.pop("__metadata__", {})
    data = raw[8 + length :]
    tensors = {}
    for name, entry in header.items():
        begin, end = entry["data_offsets"]
        chunk = data[begin:end]
        if entry["dtype"] == "BF16":
            t = torch.from_numpy(np.frombuffer(chunk, dtype="<i2").copy()).view(torch.bfloat16)
        else:
            t = torch.from_numpy(np.frombuffer(chunk, dtype=NUMPY_DTYPES[entry["dtype"]]).copy())
        tensors[name] = t.reshape(entry["shape"])
    return tensors, metadata


# --- models (randlab's test/golden.test.ts builds the same ones) ------------------------------


def make_mlp():
    return nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 5))


def make_cnn():
    # [N,3,9,7] → conv 3×3 pad 1 → [N,8,9,7] → pool 2 → [N,8,4,3] → 96 features
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1, bias=True),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(96, 5),
    )


class BasicBlock(nn.Module):
    """torchvision's ResNet BasicBlock with a strided 1×1 conv + BN shortcut."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.downsample(x))


class ResBlockNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = BasicBlock(3, 16, stride=2)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, 5)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.block(x)), 1))


MODELS = {
    "mlp": {"build": make_mlp, "input": (6, 20), "classes": 5},
    "cnn": {"build": make_cnn, "input": (4, 3, 9, 7), "classes": 5},
    "resblock": {"build": ResBlockNet, "input": (4, 3, 9, 9), "classes": 5},
}

# Optimiser runs per model: (name, torch optimiser class, settings as randlab names them).
RUNS = {
    "mlp": [
        ("sgd", "SGD", {"lr": 0.1, "momentum": 0.9}),
        ("adam", "Adam", {"lr": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weightDecay": 0.01}),
        ("adamw", "AdamW", {"lr": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weightDecay": 0.1}),
    ],
    "cnn": [("sgd", "SGD", {"lr": 0.1, "momentum": 0.9, "weightDecay": 5e-4})],
    "resblock": [("sgd", "SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True})],
}


def torch_optimizer(kind, params, s):
    if kind == "SGD":
        return torch.optim.SGD(params, lr=s["lr"], momentum=s.get("momentum", 0), weight_decay=s.get("weightDecay", 0), nesterov=s.get("nesterov", False))
    cls = torch.optim.Adam if kind == "Adam" else torch.optim.AdamW
    return cls(params, lr=s["lr"], betas=(s["beta1"], s["beta2"]), eps=s["eps"], weight_decay=s["weightDecay"])


def randomize_batchnorm(model, gen):
    """Non-trivial BN affine parameters and running statistics, so loading and updating them is tested."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            with torch.no_grad():
                m.weight.copy_(0.5 + torch.rand(c, generator=gen))
                m.bias.copy_(torch.rand(c, generator=gen) - 0.5)
                m.running_mean.copy_(0.1 * torch.randn(c, generator=gen))
                m.running_var.copy_(0.5 + torch.rand(c, generator=gen))
                m.num_batches_tracked.fill_(3)


def build(name, seed):
    torch.manual_seed(seed)
    model = MODELS[name]["build"]()
    randomize_batchnorm(model, torch.Generator().manual_seed(seed + 1))
    return model


def prefixed(prefix, items):
    return {f"{prefix}{k}": v.detach().clone() for k, v in items}


def generate(name, seed):
    spec = MODELS[name]
    model = build(name, seed)
    initial = {k: v.detach().clone() for k, v in model.state_dict().items()}
    gen = torch.Generator().manual_seed(seed + 2)
    x = torch.randn(*spec["input"], generator=gen)
    y = torch.randint(0, spec["classes"], (spec["input"][0],), generator=gen)

    model.train()
    logits = model(x)
    loss = F.cross_entropy(logits, y)
    loss.backward()
    golden = {"input": x, "labels": y, "logits": logits.detach().clone(), "loss": loss.detach().clone()}
    golden.update(prefixed("grad.", ((k, p.grad) for k, p in model.named_parameters())))
    golden.update(prefixed("after_forward.", model.named_buffers()))

    metadata = {"model": name, "steps": str(STEPS)}
    for run, kind, settings in RUNS[name]:
        model.load_state_dict(initial, strict=True)
        model.zero_grad(set_to_none=True)
        opt = torch_optimizer(kind, model.parameters(), settings)
        for _ in range(STEPS):
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(x), y).backward()
            opt.step()
        golden.update(prefixed(f"{run}.step{STEPS}.", model.named_parameters()))
        golden.update(prefixed(f"{run}.step{STEPS}.", model.named_buffers()))
        model.eval()
        with torch.no_grad():
            golden[f"{run}.step{STEPS}.eval_logits"] = model(x).clone()
        model.train()
        metadata[f"optimizer.{run}"] = json.dumps({"kind": kind.lower(), **settings})

    save_safetensors(FIXTURES / f"{name}.weights.safetensors", initial, {"format": "pt"})
    save_safetensors(FIXTURES / f"{name}.golden.safetensors", golden, metadata)


def generate_dtypes():
    values = torch.tensor([0.0, 1.0, -2.5, 3.140625, 65504.0, 1e-3, -7.75e-5, 6.1e-5], dtype=torch.float64)
    tensors = {
        "f32": values.float(),
        "f64": values,
        "f16": values.half(),
        "bf16": values.bfloat16(),
        # What randlab should read for the narrow types: their values widened to float32.
        "f16_as_f32": values.half().float(),
        "bf16_as_f32": values.bfloat16().float(),
        "i64": torch.tensor([[0, 1, -1], [2147483647, -2147483648, 42]], dtype=torch.int64),
        "i32": torch.tensor([5, -6, 7], dtype=torch.int32),
        "scalar": torch.tensor(2.5),
    }
    save_safetensors(FIXTURES / "dtypes.safetensors", tensors, {"format": "pt", "written_by": f"torch {torch.__version__}"})


def check_load(model_name, checkpoint, expect):
    """PyTorch side of the interop check: strict load of a randlab checkpoint, same eval logits."""
    state, _ = load_safetensors(checkpoint)
    model = MODELS[model_name]["build"]()
    model.load_state_dict(state, strict=True)  # raises on any missing/unexpected key or shape
    for key, value in model.state_dict().items():
        expected_dtype = torch.int64 if key.endswith("num_batches_tracked") else torch.float32
        if value.dtype != expected_dtype:
            raise SystemExit(f"{checkpoint}: '{key}' loaded as {value.dtype}, expected {expected_dtype}")
    golden, _ = load_safetensors(FIXTURES / f"{model_name}.golden.safetensors")
    expected, _ = load_safetensors(expect)
    model.eval()
    with torch.no_grad():
        logits = model(golden["input"])
    error = (logits - expected["logits"]).norm() / expected["logits"].norm()
    if not error <= 1e-4:
        raise SystemExit(f"{checkpoint}: PyTorch's eval logits differ from randlab's (relative error {error:.3g})")
    print(f"check-load {model_name}: strict load ok, {len(state)} tensors, logits relative error {error:.2g}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command")
    check = sub.add_parser("check-load")
    check.add_argument("--model", required=True, choices=sorted(MODELS))
    check.add_argument("--checkpoint", required=True)
    check.add_argument("--expect", required=True)
    parser.add_argument("--no-verify", action="store_true", help="skip running test/golden.test.ts afterwards")
    args = parser.parse_args()

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    if args.command == "check-load":
        check_load(args.model, args.checkpoint, args.expect)
        return

    FIXTURES.mkdir(parents=True, exist_ok=True)
    for seed, name in enumerate(MODELS):
        generate(name, 1000 + 10 * seed)
    generate_dtypes()
    total = 0
    for path in sorted(FIXTURES.glob("*.safetensors")):
        total += path.stat().st_size
        print(f"{path.relative_to(ROOT)}: {path.stat().st_size} bytes")
    print(f"total {total} bytes")
    if args.no_verify:
        return
    env = {**os.environ, "RANDLAB_REQUIRE_TORCH": "1"}
    result = subprocess.run(["npx", "vitest", "run", "test/golden.test.ts"], cwd=ROOT, env=env)
    if result.returncode != 0:
        sys.exit(f"randlab does not reproduce the fixtures or PyTorch rejected its checkpoint (vitest exit {result.returncode})")


if __name__ == "__main__":
    main()
