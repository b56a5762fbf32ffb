#!/usr/bin/python3
"""PyTorch definitions of randlab's models, to check that randlab checkpoints and PyTorch agree.

torchvision is not installed with Debian's python3-torch, so VGG and ResNet are written out here
following torchvision's `vgg.py` (make_layers, cfgs "A" and "D") and `resnet.py` (BasicBlock,
resnet18), and WRN-28-4 follows the common CIFAR implementation (Zagoruyko & Komodakis; module
names as in xternalz/WideResNet-pytorch). The CIFAR changes the paper describes are applied:
VGG without the average pool and with one linear classifier from the last conv width; ResNet18
with a 3x3 stem and no max pool.

Commands:
  fixtures [--out test/fixtures/models]
      Writes, for every case in CASES, `<case>.json` with the expected state_dict keys, shapes
      and dtypes. For the small cases also `<case>.weights.safetensors` (random PyTorch weights and
      perturbed BatchNorm statistics) and `<case>.io.safetensors` (a fixed input and PyTorch's
      logits in eval and train mode), so randlab's forward pass is checked against PyTorch.
  verify --model NAME --options JSON --checkpoint FILE.safetensors
      Loads a randlab checkpoint into the PyTorch module with strict=True and prints the keys.

Run with /usr/bin/python3 (Debian's PyTorch); CI does not need it, the fixtures are committed.
"""
import argparse
import json
import os
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

# --- models -----------------------------------------------------------------------------------


class MLP(nn.Module):
    """flatten -> (fc_i, ReLU)* -> fc_last; keys fc1..fcL."""

    def __init__(self, in_features, widths, num_classes):
        super().__init__()
        dims = [in_features] + list(widths) + [num_classes]
        self.depth = len(dims) - 1
        for i in range(self.depth):
            setattr(self, f"fc{i + 1}", nn.Linear(dims[i], dims[i + 1]))

    def forward(self, x):
        x = torch.flatten(x, 1)
        for i in range(self.depth):
            x = getattr(self, f"fc{i + 1}")(x)
            if i < self.depth - 1:
                x = F.relu(x)
        return x


class CNN2(nn.Module):
    """The paper's 2-layer CNN: conv 3x3 valid, ReLU, flatten, linear, ReLU, linear."""

    def __init__(self, in_shape, widths, num_classes):
        super().__init__()
        c, h, w = in_shape
        filters, hidden = widths
        self.conv1 = nn.Conv2d(c, filters, 3)
        self.fc1 = nn.Linear(filters * (h - 2) * (w - 2), hidden)
        self.fc2 = nn.Linear(hidden, num_classes)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.relu(self.fc1(torch.flatten(x, 1)))
        return self.fc2(x)


VGG_CFGS = {
    "vgg11": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
}


class VGG(nn.Module):
    """torchvision's VGG features; avgpool and the first two FC layers removed (paper Fig. 1)."""

    def __init__(self, name, in_shape, widths, batch_norm, num_classes):
        super().__init__()
        cfg = VGG_CFGS[name]
        widths = list(widths) if widths else [v for v in cfg if v != "M"]
        layers = []
        c, h, w = in_shape
        it = iter(widths)
        for v in cfg:
            if v == "M":
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
                h, w = h // 2, w // 2
            else:
                out = next(it)
                layers.append(nn.Conv2d(c, out, kernel_size=3, padding=1))
                if batch_norm:
                    layers.append(nn.BatchNorm2d(out))
                layers.append(nn.ReLU(inplace=True))
                c = out
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(c * h * w, num_classes)

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        return self.relu(out + identity)


class ResNet18(nn.Module):
    """torchvision's resnet18; variant 'cifar' uses a 3x3 stride-1 stem and no max pool."""

    def __init__(self, in_shape, widths, variant, num_classes):
        super().__init__()
        widths = list(widths) if widths else [64, 128, 256, 512]
        self.inplanes = widths[0]
        if variant == "imagenet":
            self.conv1 = nn.Conv2d(in_shape[0], self.inplanes, 7, stride=2, padding=3, bias=False)
            self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        else:
            self.conv1 = nn.Conv2d(in_shape[0], self.inplanes, 3, stride=1, padding=1, bias=False)
            self.maxpool = None
        self.bn1 = nn.BatchNorm2d(self.inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = self._make_layer(widths[0], 2, 1)
        self.layer2 = self._make_layer(widths[1], 2, 2)
        self.layer3 = self._make_layer(widths[2], 2, 2)
        self.layer4 = self._make_layer(widths[3], 2, 2)
        self.fc = nn.Linear(widths[3], num_classes)

    def _make_layer(self, planes, blocks, stride):
        downsample = None
        if stride != 1 or self.inplanes != planes:
            downsample = nn.Sequential(nn.Conv2d(self.inplanes, planes, 1, stride=stride, bias=False), nn.BatchNorm2d(planes))
        layers = [BasicBlock(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes
        for _ in range(1, blocks):
            layers.append(BasicBlock(self.inplanes, planes))
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        if self.maxpool is not None:
            x = self.maxpool(x)
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class WideBasic(nn.Module):
    """Pre-activation block of WRN (xternalz/WideResNet-pytorch names)."""

    def __init__(self, in_planes, out_planes, stride):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(in_planes, out_planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_planes)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(out_planes, out_planes, 3, stride=1, padding=1, bias=False)
        self.equal_in_out = in_planes == out_planes and stride == 1
        self.convShortcut = None if self.equal_in_out else nn.Conv2d(in_planes, out_planes, 1, stride=stride, bias=False)

    def forward(self, x):
        pre = F.relu(self.bn1(x))
        out = self.conv1(pre)
        out = self.conv2(F.relu(self.bn2(out)))
        shortcut = x if self.equal_in_out else self.convShortcut(pre)
        return shortcut + out


class NetworkBlock(nn.Module):
    def __init__(self, n, in_planes, out_planes, stride):
        super().__init__()
        self.layer = nn.Sequential(*[WideBasic(in_planes if i == 0 else out_planes, out_planes, stride if i == 0 else 1) for i in range(n)])

    def forward(self, x):
        return self.layer(x)


class WRN(nn.Module):
    """WRN-28-4: stem conv (kernel configurable, 'same' padding), 3 groups of 4 blocks, BN-ReLU, pool, fc."""

    def __init__(self, in_shape, widths, first_kernel, num_classes, depth=28):
        super().__init__()
        widths = list(widths) if widths else [16, 64, 128, 256]
        n = (depth - 4) // 6
        self.conv1 = nn.Conv2d(in_shape[0], widths[0], first_kernel, stride=1, padding=first_kernel // 2, bias=False)
        self.block1 = NetworkBlock(n, widths[0], widths[1], 1)
        self.block2 = NetworkBlock(n, widths[1], widths[2], 2)
        self.block3 = NetworkBlock(n, widths[2], widths[3], 2)
        self.bn1 = nn.BatchNorm2d(widths[3])
        self.relu = nn.ReLU(inplace=True)
        self.fc = nn.Linear(widths[3], num_classes)

    def forward(self, x):
        out = self.block3(self.block2(self.block1(self.conv1(x))))
        out = F.relu(self.bn1(out))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(out, 1), 1))


def build(name, options):
    """options: the createModel options as in the fixture JSON (camelCase, as randlab spells them)."""
    k = options["numClasses"]
    shape = options["inputShape"]
    widths = options.get("widths")
    if name == "mlp":
        in_features = 1
        for d in shape:
            in_features *= d
        return MLP(in_features, widths or [2048, 256], k)
    if name == "cnn2":
        return CNN2(shape, widths or [256, 64], k)
    if name in VGG_CFGS:
        return VGG(name, shape, widths, options.get("batchNorm", True), k)
    if name == "resnet18":
        return ResNet18(shape, widths, options.get("variant", "cifar"), k)
    if name == "wrn-28-4":
        return WRN(shape, widths, options.get("firstKernel", 3), k)
    raise SystemExit(f"unknown model {name}")


# --- fixture cases -------------------------------------------------------------------------------

CIFAR = [3, 32, 32]

# Full-size models: keys and shapes only.
KEY_CASES = {
    "mlp": ("mlp", {"numClasses": 10, "inputShape": CIFAR, "widths": [1024, 1024]}),
    "cnn2": ("cnn2", {"numClasses": 10, "inputShape": CIFAR}),
    "vgg11-bn": ("vgg11", {"numClasses": 10, "inputShape": CIFAR, "batchNorm": True}),
    "vgg11": ("vgg11", {"numClasses": 10, "inputShape": CIFAR, "batchNorm": False}),
    "vgg16-bn": ("vgg16", {"numClasses": 10, "inputShape": CIFAR, "batchNorm": True}),
    "vgg16": ("vgg16", {"numClasses": 100, "inputShape": CIFAR, "batchNorm": False}),
    "resnet18-cifar": ("resnet18", {"numClasses": 10, "inputShape": CIFAR, "variant": "cifar"}),
    "resnet18-imagenet": ("resnet18", {"numClasses": 1000, "inputShape": [3, 64, 64], "variant": "imagenet"}),
    "wrn-28-4": ("wrn-28-4", {"numClasses": 10, "inputShape": CIFAR}),
    "wrn-28-4-k5": ("wrn-28-4", {"numClasses": 10, "inputShape": CIFAR, "firstKernel": 5}),
}

# Narrow models: weights, a fixed input and PyTorch's logits too.
FORWARD_CASES = {
    "tiny-mlp": ("mlp", {"numClasses": 5, "inputShape": [3, 8, 8], "widths": [16, 12]}),
    "tiny-cnn2": ("cnn2", {"numClasses": 4, "inputShape": [3, 8, 8], "widths": [6, 10]}),
    "tiny-vgg11-bn": ("vgg11", {"numClasses": 3, "inputShape": [3, 32, 32], "batchNorm": True, "widths": [4, 6, 6, 8, 8, 8, 8, 8]}),
    "tiny-vgg16": ("vgg16", {"numClasses": 3, "inputShape": [3, 32, 32], "batchNorm": False, "widths": [4] * 4 + [6] * 3 + [8] * 6}),
    "tiny-resnet18-cifar": ("resnet18", {"numClasses": 3, "inputShape": [3, 16, 16], "variant": "cifar", "widths": [4, 6, 8, 8]}),
    "tiny-resnet18-imagenet": ("resnet18", {"numClasses": 3, "inputShape": [3, 32, 32], "variant": "imagenet", "widths": [4, 6, 8, 8]}),
    "tiny-wrn-28-4-k5": ("wrn-28-4", {"numClasses": 3, "inputShape": [3, 16, 16], "firstKernel": 5, "widths": [4, 6, 8, 8]}),
}

DTYPES = {torch.float32: "F32", torch.int64: "I64"}


def key_listing(model):
    return [{"key": k, "shape": list(v.shape), "dtype": DTYPES[v.dtype]} for k, v in model.state_dict().items()]


# --- safetensors (the format is small enough to write by hand: no extra package needed) ----------


def write_safetensors(path, tensors):
    header = {}
    offset = 0
    blobs = []
    for key, t in tensors.items():
        t = t.detach().contiguous().cpu()
        raw = t.numpy().tobytes()
        header[key] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        blobs.append(raw)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    body = data[8 + n :]
    out = {}
    kinds = {"F32": torch.float32, "I64": torch.int64, "I32": torch.int32}
    for key, entry in header.items():
        if key == "__metadata__":
            continue
        start, end = entry["data_offsets"]
        t = torch.frombuffer(bytearray(body[start:end]), dtype=kinds[entry["dtype"]]).reshape(entry["shape"])
        out[key] = t.to(torch.int64) if entry["dtype"] == "I32" else t
    return out


# --- commands ------------------------------------------------------------------------------------


def perturb_batch_norm(model, gen):
    """Non-trivial running statistics and affine parameters, so eval-mode BN is really tested."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            with torch.no_grad():
                m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
                m.weight.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
                m.num_batches_tracked.fill_(3)


def write_fixtures(out):
    os.makedirs(out, exist_ok=True)
    for case, (name, options) in KEY_CASES.items():
        model = build(name, options)
        with open(os.path.join(out, f"{case}.json"), "w") as f:
            json.dump({"model": name, "options": options, "stateDict": key_listing(model)}, f, indent=1)
            f.write("\n")
        print(f"{case}: {len(model.state_dict())} keys, {sum(p.numel() for p in model.parameters())} parameters")
    for i, (case, (name, options)) in enumerate(FORWARD_CASES.items()):
        gen = torch.Generator().manual_seed(1000 + i)
        torch.manual_seed(1000 + i)
        model = build(name, options)
        perturb_batch_norm(model, gen)
        x = torch.randn([2] + options["inputShape"], generator=gen)
        # Saved before the train-mode forward, which updates the running statistics.
        state = {k: v.clone() for k, v in model.state_dict().items()}
        model.eval()
        with torch.no_grad():
            logits_eval = model(x)
        model.train()
        with torch.no_grad():
            logits_train = model(x)
        with open(os.path.join(out, f"{case}.json"), "w") as f:
            json.dump({"model": name, "options": options, "stateDict": key_listing(model), "forward": {"batch": 2}}, f, indent=1)
            f.write("\n")
        write_safetensors(os.path.join(out, f"{case}.weights.safetensors"), state)
        write_safetensors(os.path.join(out, f"{case}.io.safetensors"), {"input": x, "logits_eval": logits_eval, "logits_train": logits_train})
        print(f"{case}: forward fixture, logits {list(logits_eval.shape)}")


def verify(name, options, checkpoint):
    model = build(name, options)
    tensors = read_safetensors(checkpoint)
    model.load_state_dict(tensors, strict=True)
    print(f"{checkpoint}: {len(tensors)} tensors load into PyTorch {name} with strict=True")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    fx = sub.add_parser("fixtures")
    fx.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "models"))
    vf = sub.add_parser("verify")
    vf.add_argument("--model", required=True)
    vf.add_argument("--options", required=True, help="createModel options as JSON")
    vf.add_argument("--checkpoint", required=True)
    args = parser.parse_args()
    if args.command == "fixtures":
        write_fixtures(args.out)
    else:
        verify(args.model, json.loads(args.options), args.checkpoint)


if __name__ == "__main__":
    sys.exit(main())
