#!/usr/bin/python3
"""LeNet-5 as `chainrule train --model lenet5` trains it, in PyTorch, for the speed comparison.

    /usr/bin/python3 tools/bench/torch_lenet5.py --data data/mnist --batch 128 --epochs 2 --threads 1
        [--limit N (the first N training images; 0 = all)] [--conv onednn|blas (onednn)]

(1, 28, 28) -> Conv2d 6@5x5 pad 2 -> ReLU -> MaxPool 2 -> Conv2d 16@5x5 -> ReLU -> MaxPool 2
-> flatten 400 (channel-major, as chainrule's rows) -> Linear 120 -> ReLU -> Linear 84 -> ReLU
-> Linear 10, softmax cross-entropy, Adam (lr 1e-3, betas 0.9 and 0.999, eps 1e-7 as in
chainrule), float32, PyTorch's own convolution path (mkldnn/oneDNN when it has it; --conv blas
turns oneDNN off, so that the convolutions take PyTorch's im2col path on the BLAS). The IDX
files are read directly with NumPy (no torchvision); pixels stay uint8 until a batch is built, as in chainrule. --threads 0 keeps
PyTorch's own default (and OpenBLAS's). Prints the same "key value" lines as bench_train (epoch_s is the
training part of each epoch, without the evaluation on the test set; epoch_cpu_s the CPU
seconds of all threads meanwhile).
"""
import os
import sys

# OpenBLAS (which Debian's NumPy and torch call for the products) starts its own threads,
# whatever torch.set_num_threads says: fix its count before NumPy or torch loads it.
_threads = next((a.split("=", 1)[1] if "=" in a else sys.argv[i + 2]
                 for i, a in enumerate(sys.argv[1:]) if a.startswith("--threads")), "1")
if _threads != "0":
    os.environ["OPENBLAS_NUM_THREADS"] = _threads
    os.environ["OMP_NUM_THREADS"] = _threads
import torch  # noqa: E402  (after the environment is set)


from torch_mnist import bench_arguments, train_and_report  # noqa: E402  (the same loop and output as the MLP's)


def main():
    ap = bench_arguments()
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--conv", choices=["onednn", "blas"], default="onednn")
    args = ap.parse_args()

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    torch.backends.mkldnn.enabled = args.conv == "onednn"
    nn = torch.nn
    model = nn.Sequential(nn.Unflatten(1, (1, 28, 28)),
                          nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
    # multiply-adds per image, forward: conv1 784*6*25, conv2 100*16*150, dense 400*120 + 120*84 + 84*10;
    # a training step costs three forward passes (forward, dX, dW), 2 flops each, less the first
    # layer's dX (the images need no gradient), as bench_train counts them
    macs = 784 * 6 * 25 + 100 * 16 * 150 + 400 * 120 + 120 * 84 + 84 * 10
    train_and_report(model, args, 2.0 * (3 * macs - 784 * 6 * 25), first_lines=[f"conv {args.conv}"])


if __name__ == "__main__":
    main()
