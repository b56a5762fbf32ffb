#!/usr/bin/python3
"""PyTorch anchors for randlab's benchmarks, on the CPU or a CUDA GPU.

    /usr/bin/python3 bench/pytorch.py [--json] [--models mlp,cnn2,vgg16,resnet18] [--steps N]
        [--threads N] [--device cpu|cuda] [--tf32 off|default] [--gemm-size N]

Trains each model at batch 128 on random 3x32x32 inputs (forward + backward + SGD momentum
step: warm-up steps, then the median of >= 10 timed steps) and measures two kernels: torch.mm
at 1024^3 (--gemm-size) and the forward 3x3 conv 64->64 at 32x32, batch 128, pad 1.

On CUDA (--device cuda) every timed region ends with torch.cuda.synchronize(), and there is one
process, no thread layouts. --tf32 off turns TF32 off for matmul and cuDNN (true fp32); --tf32
default leaves PyTorch's defaults (matmul without TF32, cuDNN convolutions with it).

PyTorch's speed depends on its thread layout (OpenMP threads for its own and oneDNN kernels,
OpenBLAS threads for matmul), so the script re-runs itself in a subprocess for every
OMP_NUM_THREADS x OPENBLAS_NUM_THREADS in {1,2} x {1,2} and reports, per model and kernel, the
best layout; with --threads N the layouts are (N, 1) and (N, N). OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are removed from the children's environment:
this machine sets them, and they pin OpenBLAS to slower kernels than it would pick itself.

Output: a table, or with --json one object per line:
    {"model", "batch", "images_per_s", "ms_per_step", "layout"}   and   {"kernel", "gflops", "layout"}
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

BATCH = 128
MODELS = ("mlp", "cnn2", "vgg16", "resnet18")
LAYOUTS = [(omp, blas) for omp in (1, 2) for blas in (1, 2)]
PINNING_VARIABLES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
CONV_KERNEL = "conv3x3-64-64-32x32-b128"


def gemm_kernel_name(size):
    return f"gemm-{size}"


def synchronize(device):
    """Wait for the GPU's queue, so a timed region holds the work it launched."""
    if device == "cuda":
        import torch

        torch.cuda.synchronize()


def configure_tf32(mode):
    import torch

    if mode == "off":
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False


def build_model(name):
    import torch.nn as nn

    if name == "mlp":
        return nn.Sequential(
            nn.Flatten(),
            nn.Linear(3072, 1024), nn.ReLU(),
            nn.Linear(1024, 1024), nn.ReLU(),
            nn.Linear(1024, 10),
        )
    if name == "cnn2":
        return nn.Sequential(
            nn.Conv2d(3, 256, 3), nn.ReLU(),
            nn.Flatten(),
            nn.Linear(256 * 30 * 30, 64), nn.ReLU(),
            nn.Linear(64, 10),
        )
    if name == "vgg16":
        cfg = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]
        layers, channels = [], 3
        for item in cfg:
            if item == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(channels, item, 3, padding=1), nn.BatchNorm2d(item), nn.ReLU(inplace=True)]
                channels = item
        return nn.Sequential(*layers, nn.Flatten(), nn.Linear(512, 10))
    if name == "resnet18":
        return resnet18_cifar()
    raise ValueError(f"unknown model {name!r} (expected one of {', '.join(MODELS)})")


def resnet18_cifar():
    """ResNet18 for CIFAR: 3x3 stem conv with 64 channels, no max pool, BasicBlocks [2,2,2,2]."""
    import torch.nn as nn
    import torch.nn.functional as F

    class BasicBlock(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.shortcut = nn.Sequential()
            if stride != 1 or cin != cout:
                self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return F.relu(out + self.shortcut(x))

    class ResNet18(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(64)
            blocks, cin = [], 64
            for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
                blocks += [BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)]
                cin = cout
            self.blocks = nn.Sequential(*blocks)
            self.linear = nn.Linear(512, 10)

        def forward(self, x):
            out = self.blocks(F.relu(self.bn1(self.conv1(x))))
            out = F.adaptive_avg_pool2d(out, 1).flatten(1)
            return self.linear(out)

    return ResNet18()


def time_training(name, warmup, steps, device="cpu"):
    import torch

    torch.manual_seed(0)
    model = build_model(name).to(device)
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()
    x = torch.randn(BATCH, 3, 32, 32, device=device)
    y = torch.randint(0, 10, (BATCH,), device=device)

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()

    for _ in range(warmup):
        step()
    synchronize(device)
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        synchronize(device)
        times.append(time.perf_counter() - start)
    # The median step: robust to the other work sharing this machine's two cores.
    seconds = statistics.median(times)
    return {"model": name, "batch": BATCH, "images_per_s": BATCH / seconds, "ms_per_step": 1000 * seconds}


def best_seconds(fn, device="cpu", budget=1.0, min_reps=3, max_reps=100):
    fn()
    synchronize(device)
    best, start = float("inf"), time.perf_counter()
    for rep in range(max_reps):
        t0 = time.perf_counter()
        fn()
        synchronize(device)
        best = min(best, time.perf_counter() - t0)
        if rep + 1 >= min_reps and time.perf_counter() - start > budget:
            break
    return best


def time_kernels(gemm_size=1024, device="cpu"):
    import torch
    import torch.nn.functional as F

    torch.manual_seed(0)
    results = []
    with torch.no_grad():
        a = torch.randn(gemm_size, gemm_size, device=device)
        b = torch.randn(gemm_size, gemm_size, device=device)
        seconds = best_seconds(lambda: torch.mm(a, b), device)
        results.append({"kernel": gemm_kernel_name(gemm_size), "gflops": 2 * gemm_size**3 / seconds / 1e9})
        x = torch.randn(BATCH, 64, 32, 32, device=device)
        w, bias = torch.randn(64, 64, 3, 3, device=device), torch.randn(64, device=device)
        seconds = best_seconds(lambda: F.conv2d(x, w, bias, padding=1), device, budget=2.0)
        flops = 2 * BATCH * 32 * 32 * 64 * 64 * 9
        results.append({"kernel": CONV_KERNEL, "gflops": flops / seconds / 1e9})
    return results


def measure(args, device):
    """The models' training steps, then (unless --no-kernels) the kernels, on `device`, in this process."""
    rows = [time_training(name, args.warmup, args.steps, device) for name in args.models]
    if not args.no_kernels:
        rows += time_kernels(args.gemm_size, device)
    return rows


def run_worker(args):
    """One CPU thread layout, in this process: print one JSON object per result."""
    for result in measure(args, "cpu"):
        print(json.dumps(result), flush=True)


def layout_name(omp, blas):
    return f"OMP_NUM_THREADS={omp},OPENBLAS_NUM_THREADS={blas}"


def run_layout(args, omp, blas):
    env = {k: v for k, v in os.environ.items() if k not in PINNING_VARIABLES}
    env["OMP_NUM_THREADS"] = str(omp)
    env["OPENBLAS_NUM_THREADS"] = str(blas)
    command = [sys.executable, os.path.abspath(__file__), "--worker", "--models", ",".join(args.models),
               "--steps", str(args.steps), "--warmup", str(args.warmup), "--gemm-size", str(args.gemm_size)]
    if args.no_kernels:
        command.append("--no-kernels")
    completed = subprocess.run(command, env=env, capture_output=True, text=True)
    if completed.returncode != 0:
        raise RuntimeError(f"bench/pytorch.py worker with {layout_name(omp, blas)} failed:\n{completed.stderr}")
    return [json.loads(line) for line in completed.stdout.splitlines() if line.startswith("{")]


def thread_layouts(threads):
    """(OMP_NUM_THREADS, OPENBLAS_NUM_THREADS) pairs to try: all of {1,2}² by default, else (N,1), (N,N)."""
    return LAYOUTS if threads is None else [(threads, 1), (threads, threads)]


def best_over_layouts(args):
    best = {}
    for omp, blas in thread_layouts(args.threads):
        for result in run_layout(args, omp, blas):
            key = ("model", result["model"]) if "model" in result else ("kernel", result["kernel"])
            score = result.get("images_per_s", result.get("gflops"))
            current = best.get(key)
            if current is None or score > current.get("images_per_s", current.get("gflops")):
                best[key] = {**result, "layout": layout_name(omp, blas)}
        if not args.json:
            print(f"  measured {layout_name(omp, blas)}", file=sys.stderr, flush=True)
    return [best[key] for key in sorted(best, key=lambda k: (k[0] != "model", k))]


def print_table(results):
    print(f"{'model':<10} {'batch':>5} {'images/s':>10} {'ms/step':>10}  layout")
    for r in results:
        if "model" in r:
            print(f"{r['model']:<10} {r['batch']:>5} {r['images_per_s']:>10.1f} {r['ms_per_step']:>10.1f}  {r['layout']}")
    print(f"\n{'kernel':<28} {'GFLOP/s':>10}  layout")
    for r in results:
        if "kernel" in r:
            print(f"{r['kernel']:<28} {r['gflops']:>10.1f}  {r['layout']}")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated subset of " + ",".join(MODELS))
    parser.add_argument("--steps", type=int, default=10, help="timed training steps per model (>= 10)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed training steps first")
    parser.add_argument("--no-kernels", action="store_true", help="skip the gemm and conv kernel timings")
    parser.add_argument("--threads", type=int, help="CPU threads: try layouts (N,1) and (N,N) instead of {1,2}^2")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="where to train (default cpu)")
    parser.add_argument("--tf32", choices=("off", "default"), default="default",
                        help="cuda: 'off' disables TF32 in matmul and cuDNN; 'default' keeps PyTorch's settings")
    parser.add_argument("--gemm-size", type=int, default=1024, help="m = n = k of the gemm kernel (default 1024)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.models = [m for m in args.models.split(",") if m]
    for name in args.models:
        if name not in MODELS:
            parser.error(f"unknown model {name!r} (expected one of {', '.join(MODELS)})")
    if args.steps < 10:
        parser.error("--steps must be at least 10")
    if args.threads is not None and args.threads < 1:
        parser.error("--threads must be at least 1")
    if args.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            parser.error("--device cuda: torch.cuda.is_available() is False (no CUDA GPU or a CPU-only torch)")
    return args


def results_on_cuda(args):
    """The GPU needs no thread layouts: one in-process run, labelled by its TF32 setting."""
    import torch

    configure_tf32(args.tf32)
    label = f"cuda {torch.cuda.get_device_name(0)}, tf32 {args.tf32}"
    return [{**row, "layout": label} for row in measure(args, "cuda")]


def main():
    args = parse_args()
    if args.worker:
        run_worker(args)
        return
    results = results_on_cuda(args) if args.device == "cuda" else best_over_layouts(args)
    if args.json:
        for r in results:
            print(json.dumps({k: (round(v, 2) if isinstance(v, float) else v) for k, v in r.items()}))
    else:
        print_table(results)


if __name__ == "__main__":
    main()
