#!/usr/bin/env python3
"""One point of randlab's transfer protocol (docs/paper.md §3) re-implemented in PyTorch, as an
independent check of randlab's measurements: the 2-layer CNN pre-trained on K random labels of an
upstream part of CIFAR-10, then trained on a disjoint downstream part with real labels

  scratch     a fresh network;
  pretrained  the pre-trained conv1 and fc1, each tensor rescaled to its ℓ2 norm at initialisation
              (biases, initialised to 0, become 0), with a fresh head;
  covariance  a fresh network whose conv1 filters are drawn from N(0, Σ_w) of the pre-trained conv1
              (Σ_w: centred covariance of its filters, n − 1), rescaled to the fresh conv1's norm.

Speed = training accuracy on the first --train-eval images of the downstream part against iterations;
AUC = trapezoid rule over [first evaluation, last], iterations scaled to [0, 1] (src/report/stats.ts).
The split, label and initialisation draws are PyTorch's and NumPy's, not randlab's Philox streams:
the check compares the sign and size of the differences across seeds, not bit patterns.

  /usr/bin/python3 tools/pytorch-transfer.py --data /work/shared/data/cifar10 --seeds 0,1,2 --json out.json
"""
import argparse
import gzip
import json
import math
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

IMAGE_BYTES = 3 * 32 * 32


def read_cifar_train(root):
    """The 50 000 training images (uint8, N×3×32×32) and labels of the official binary files."""
    images, labels = [], []
    for i in range(1, 6):
        path = os.path.join(root, f'data_batch_{i}.bin')
        raw = gzip.open(path + '.gz').read() if os.path.exists(path + '.gz') else open(path, 'rb').read()
        rows = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 1 + IMAGE_BYTES)
        labels.append(rows[:, 0].astype(np.int64))
        images.append(rows[:, 1:].reshape(-1, 3, 32, 32))
    return np.concatenate(images), np.concatenate(labels)


def standardise(images):
    """Per-channel standardisation with the statistics of the images given (randlab: the training split)."""
    x = images.astype(np.float32) / 255.0
    mean = x.mean(axis=(0, 2, 3), keepdims=True)
    std = x.std(axis=(0, 2, 3), keepdims=True)
    return torch.from_numpy((x - mean) / std)


class CNN2(torch.nn.Module):
    """conv 3×3 (valid) → ReLU → FC → ReLU → FC, as src/models/cnn2.ts."""

    def __init__(self, filters, hidden, classes):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, filters, 3)
        self.fc1 = torch.nn.Linear(filters * 30 * 30, hidden)
        self.fc2 = torch.nn.Linear(hidden, classes)

    def forward(self, x):
        x = F.relu(self.conv1(x)).flatten(1)
        return self.fc2(F.relu(self.fc1(x)))


def initialise(model, scale, generator):
    """He normal (fan-in, gain √2) × scale, biases 0: randlab's kaiming_normal with init_scale."""
    for layer in (model.conv1, model.fc1, model.fc2):
        fan_in = layer.weight[0].numel()
        with torch.no_grad():
            layer.weight.normal_(0.0, scale * math.sqrt(2.0 / fan_in), generator=generator)
            layer.bias.zero_()
    return model


def accuracy(model, x, y, batch=1000):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            correct += (model(x[i : i + batch]).argmax(1) == y[i : i + batch]).sum().item()
    model.train()
    return correct / len(x)


def train(model, x, y, steps, args, generator, eval_x=None, eval_y=None):
    """SGD with momentum on shuffled batches (epochs reshuffle; the last short batch is kept);
    returns the training-accuracy curve [(step, accuracy)] when eval data are given."""
    optimiser = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    curve, step = [], 0
    while step < steps:
        order = torch.randperm(len(x), generator=generator)
        for i in range(0, len(x), args.batch):
            index = order[i : i + args.batch]
            loss = F.cross_entropy(model(x[index]), y[index])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            step += 1
            if eval_x is not None and step % args.eval_every == 0:
                curve.append((step, accuracy(model, eval_x, eval_y)))
            if step == steps:
                break
    return curve


def auc(curve):
    steps = [s for s, _ in curve]
    values = [v for _, v in curve]
    area = sum((steps[i] - steps[i - 1]) * (values[i] + values[i - 1]) / 2 for i in range(1, len(curve)))
    return area / (steps[-1] - steps[0])


def norms(model):
    return {name: p.detach().norm().item() for name, p in model.named_parameters()}


def transferred(upstream, upstream_init_norms, args, generator):
    """The paper's transfer: conv1 and fc1 taken, each rescaled to its norm at init; a fresh head."""
    model = initialise(CNN2(args.filters, args.hidden, 10), args.init_scale, generator)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.startswith('fc2.'):
                continue
            source = dict(upstream.named_parameters())[name].detach()
            norm = source.norm().item()
            p.copy_(source * (upstream_init_norms[name] / norm if norm > 0 else 1.0))
    return model


def covariance_initialised(upstream, args, generator):
    model = initialise(CNN2(args.filters, args.hidden, 10), args.init_scale, generator)
    rows = upstream.conv1.weight.detach().double().reshape(args.filters, -1)
    sigma = torch.cov(rows.T)  # centred, n − 1
    fresh_norm = model.conv1.weight.norm().item()
    eigenvalues, vectors = torch.linalg.eigh(sigma)
    root = vectors * eigenvalues.clamp(min=0).sqrt()
    z = torch.randn(args.filters, rows.shape[1], generator=generator, dtype=torch.float64)
    sampled = (z @ root.T).float().reshape_as(model.conv1.weight)
    with torch.no_grad():
        model.conv1.weight.copy_(sampled * (fresh_norm / sampled.norm().item()))
    return model


def one_seed(seed, images, labels, args):
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(images))
    up, down = order[: args.upstream], order[args.upstream : args.upstream + args.downstream]
    x_up, x_down = standardise(images[up]), standardise(images[down])
    y_random = torch.from_numpy(rng.integers(0, args.classes, size=args.upstream).astype(np.int64))
    y_down = torch.from_numpy(labels[down])
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)

    upstream = initialise(CNN2(args.filters, args.hidden, args.classes), args.init_scale, generator)
    init_norms = norms(upstream)
    upstream_steps = args.epochs * math.ceil(args.upstream / args.batch)
    began = time.time()
    train(upstream, x_up, y_random, upstream_steps, args, generator)
    fit = accuracy(upstream, x_up[: args.train_eval], y_random[: args.train_eval])
    eval_x, eval_y = x_down[: args.train_eval], y_down[: args.train_eval]
    models = {
        'scratch': initialise(CNN2(args.filters, args.hidden, 10), args.init_scale, generator),
        'pretrained': transferred(upstream, init_norms, args, generator),
        'covariance': covariance_initialised(upstream, args, generator),
    }
    aucs = {}
    for condition, model in models.items():
        curve = train(model, x_down, y_down, args.iterations, args, generator, eval_x, eval_y)
        aucs[condition] = auc(curve)
    return {'seed': seed, 'upstream_fit': fit, 'auc': aucs, 'seconds': time.time() - began}


def t_interval(values):
    """Mean and 95% Student-t interval (the t quantiles for n − 1 ≤ 9 are tabulated)."""
    t975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262}
    n = len(values)
    mean = float(np.mean(values))
    if n < 2:
        return {'mean': mean, 'n': n}
    half = t975[n - 1] * float(np.std(values, ddof=1)) / math.sqrt(n)
    return {'mean': mean, 'low': mean - half, 'high': mean + half, 'n': n, 'values': [float(v) for v in values]}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--data', default=os.path.join(os.environ.get('RANDLAB_DATA', 'data'), 'cifar10'))
    parser.add_argument('--seeds', default='0,1,2')
    parser.add_argument('--filters', type=int, default=64)
    parser.add_argument('--hidden', type=int, default=32)
    parser.add_argument('--upstream', type=int, default=2000)
    parser.add_argument('--downstream', type=int, default=2000)
    parser.add_argument('--classes', type=int, default=10, help='random classes upstream (K)')
    parser.add_argument('--epochs', type=int, default=45, help='upstream epochs')
    parser.add_argument('--iterations', type=int, default=160, help='downstream steps')
    parser.add_argument('--batch', type=int, default=128)
    parser.add_argument('--lr', type=float, default=0.01)
    parser.add_argument('--init-scale', type=float, default=0.3)
    parser.add_argument('--eval-every', type=int, default=20)
    parser.add_argument('--train-eval', type=int, default=1000)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--json', help='write the result here')
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    images, labels = read_cifar_train(args.data)
    seeds = [int(s) for s in args.seeds.split(',')]
    runs = []
    for seed in seeds:
        runs.append(one_seed(seed, images, labels, args))
        r = runs[-1]
        print(
            f"seed {seed}: upstream fit {r['upstream_fit']:.3f}; AUC scratch {r['auc']['scratch']:.3f}, "
            f"pretrained {r['auc']['pretrained']:.3f}, covariance {r['auc']['covariance']:.3f} ({r['seconds']:.0f} s)",
            flush=True,
        )
    summary = {
        'settings': vars(args),
        'torch': torch.__version__,
        'runs': runs,
        'upstream_fit': t_interval([r['upstream_fit'] for r in runs]),
        'pretrained_minus_scratch': t_interval([r['auc']['pretrained'] - r['auc']['scratch'] for r in runs]),
        'covariance_minus_scratch': t_interval([r['auc']['covariance'] - r['auc']['scratch'] for r in runs]),
    }
    for key in ('pretrained_minus_scratch', 'covariance_minus_scratch'):
        s = summary[key]
        print(f"{key}: {s['mean']:+.3f} [{s.get('low', float('nan')):+.3f}, {s.get('high', float('nan')):+.3f}], n={s['n']}")
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(summary, f, indent=1)


if __name__ == '__main__':
    main()
