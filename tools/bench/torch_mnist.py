#!/usr/bin/python3
"""The same training as bench_train, in PyTorch, for tools/bench.sh's comparison.

    /usr/bin/python3 tools/bench/torch_mnist.py --data data/mnist --batch 128 --epochs 4 --threads 1

784 -> Linear 128 -> ReLU -> Linear 10, softmax cross-entropy, Adam (lr 1e-3, betas 0.9 and
0.999, eps 1e-7 as in chainrule), float32. The IDX files are read directly with NumPy (no
torchvision); pixels stay uint8 until a batch is built, as in chainrule. --threads 0 keeps
PyTorch's own default (and OpenBLAS's). Prints the same "key value" lines as bench_train (epoch_s is the
training part of each epoch, without the evaluation on the test set; epoch_cpu_s the CPU
seconds of all threads meanwhile).

    /usr/bin/python3 tools/bench/torch_mnist.py --blas-info

prints which BLAS library torch's process loaded ("blas_library PATH") and, when it is
OpenBLAS, its build ("openblas_config ...") and the core whose kernels it runs
("openblas_core NAME"); tools/bench.sh prints no ratio without them.
"""
import argparse
import os
import resource
import sys
import time

# OpenBLAS (which Debian's NumPy and torch call for the products) starts its own threads,
# whatever torch.set_num_threads says: fix its count before NumPy or torch loads it.
_threads = next((a.split("=", 1)[1] if "=" in a else sys.argv[i + 2]
                 for i, a in enumerate(sys.argv[1:]) if a.startswith("--threads")), "1")
if _threads != "0":
    os.environ["OPENBLAS_NUM_THREADS"] = _threads
    os.environ["OMP_NUM_THREADS"] = _threads
import numpy as np  # noqa: E402  (after the environment is set)
import torch  # noqa: E402


def read_idx(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[0:4], "big")
    ndim = magic & 0xFF
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def blas_info():
    import ctypes
    print(f"torch {torch.__version__}")
    libs = sorted({line.split()[-1] for line in open("/proc/self/maps")
                   if "blas" in line.split()[-1].rsplit("/", 1)[-1]})
    for lib in libs:
        print(f"blas_library {lib}")
        try:
            so = ctypes.CDLL(lib)
            so.openblas_get_config.restype = ctypes.c_char_p
            so.openblas_get_corename.restype = ctypes.c_char_p
        except (OSError, AttributeError):
            continue  # not OpenBLAS (the reference BLAS has neither function)
        print(f"openblas_config {so.openblas_get_config().decode()}")
        print(f"openblas_core {so.openblas_get_corename().decode()}")


def load_mnist(args):
    """The training pixels (uint8, (n, 784)) and labels, and the test images and labels;
    the first args.limit training images when it is set."""
    x_train = read_idx(f"{args.data}/train-images-idx3-ubyte").reshape(-1, 784)
    y_train = torch.from_numpy(read_idx(f"{args.data}/train-labels-idx1-ubyte").astype(np.int64))
    x_test = read_idx(f"{args.data}/t10k-images-idx3-ubyte").reshape(-1, 784)
    y_test = torch.from_numpy(read_idx(f"{args.data}/t10k-labels-idx1-ubyte").astype(np.int64))
    limit = getattr(args, "limit", 0)
    if limit > 0:
        x_train, y_train = x_train[:limit], y_train[:limit]
    return torch.from_numpy(x_train.copy()), y_train, x_test, y_test


def train_and_report(model, args, flop_per_image, first_lines=()):
    """Trains `model` as bench_train does (Adam, softmax cross-entropy, a fresh shuffle per
    epoch, validation on the 10000 test images after each) and prints bench_train's key value
    lines. flop_per_image: the products' floating-point operations per training image and step."""
    pixels, y_train, x_test, y_test = load_mnist(args)
    loss_fn = torch.nn.CrossEntropyLoss()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-7)
    rng = np.random.default_rng(args.seed)
    n, B = pixels.shape[0], args.batch
    steps = (n + B - 1) // B
    epoch_times, epoch_cpu = [], []
    for epoch in range(1, args.epochs + 1):
        order = torch.from_numpy(rng.permutation(n))
        t0, c0 = time.perf_counter(), time.process_time()
        model.train()
        loss_sum = 0.0
        for b in range(steps):
            idx = order[b * B:(b + 1) * B]
            x = pixels[idx].to(torch.float32).div_(255.0)  # (N, 784), the batch built from uint8
            y = y_train[idx]
            opt.zero_grad(set_to_none=False)
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
            loss_sum += loss.item()
        train_s, train_cpu_s = time.perf_counter() - t0, time.process_time() - c0
        with torch.no_grad():
            model.eval()
            v0 = time.perf_counter()
            pred = model(torch.from_numpy(x_test.copy()).to(torch.float32).div_(255.0)).argmax(1)
            val_s = time.perf_counter() - v0
            acc = (pred == y_test).float().mean().item()
        print(f"epoch_s {epoch} {train_s:.4f}\nepoch_cpu_s {epoch} {train_cpu_s:.4f}\nval_s {epoch} {val_s:.4f}\nval_accuracy {epoch} {acc:.4f}")
        if epoch > 1:
            epoch_times.append(train_s)
            epoch_cpu.append(train_cpu_s)
    med = float(np.median(epoch_times))
    gflop = n * flop_per_image * 1e-9
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    for line in first_lines:
        print(line)
    print(f"batch {B}\nthreads {torch.get_num_threads()}\nsteps_per_epoch {steps}")
    print(f"epoch_cpu_s_median {float(np.median(epoch_cpu)):.4f}")
    print(f"epoch_s_median {med:.4f}\nstep_us {1e6 * med / steps:.1f}\ngflop_per_epoch {gflop:.2f}")
    print(f"gflops {gflop / med:.1f}\npeak_rss_mib {rss:.1f}\nfinal_loss {loss_sum / steps:.9g}")


def bench_arguments():
    """The options both benchmarks take (tools/bench.sh passes the same to each)."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="data/mnist")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=42)
    return ap


def main():
    if "--blas-info" in sys.argv[1:]:
        blas_info()
        return
    args = bench_arguments().parse_args()

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    model = torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
    train_and_report(model, args, 2.0 * (2 * 784 * 128 + 3 * 128 * 10))


if __name__ == "__main__":
    main()
