#!/usr/bin/env python3
"""Checks the .npy files of `chainrule inspect` and `chainrule export` without NumPy.

  check_npy.py inspect DIR     the 784-128-10 files: exact headers, shapes, and every equation of
                               the forward and backward pass recomputed in double precision
  check_npy.py export DIR      dense1.W.npy ... with their shapes, and the manifest
  check_npy.py same A B        two .npy files hold the same bytes (e.g. export's dense1.W, inspect's W1)

Exits 0 when every check passes, 1 otherwise (naming the file and the check).
"""
import math
import os
import re
import struct
import sys

FAILURES = []


def fail(msg):
    FAILURES.append(msg)
    print("FAIL:", msg)


def read_npy(path):
    """Returns (descr, shape, values) after checking the version 1.0 layout byte by byte."""
    with open(path, "rb") as f:
        data = f.read()
    name = os.path.basename(path)
    if data[:6] != b"\x93NUMPY" or data[6:8] != b"\x01\x00":
        raise SystemExit(f"{path}: not a version 1.0 .npy file")
    hlen = struct.unpack("<H", data[8:10])[0]
    start = 10 + hlen
    if start % 64 != 0:
        fail(f"{name}: data starts at byte {start}, not a multiple of 64")
    header = data[10:start].decode("latin1")
    m = re.fullmatch(r"\{'descr': '([<|][fiu][148])', 'fortran_order': False, 'shape': \(([0-9, ]*)\), \} *\n", header)
    if not m:
        raise SystemExit(f"{path}: header is not in NumPy's form: {header!r}")
    descr = m.group(1)
    dims = [d.strip() for d in m.group(2).split(",") if d.strip()]
    shape = tuple(int(d) for d in dims)
    if len(shape) == 1 and not m.group(2).endswith(","):
        fail(f"{name}: a 1-D shape must be written '(n,)'")
    count = 1
    for d in shape:
        count *= d
    fmt = {"<f4": "f", "<i4": "i", "|u1": "B"}[descr]
    size = struct.calcsize(fmt)
    if len(data) - start != count * size:
        fail(f"{name}: {len(data) - start} data bytes for shape {shape} of {descr}")
        return descr, shape, []
    values = list(struct.unpack("<" + fmt * count, data[start:]))
    return descr, shape, values


def expect_shape(directory, name, descr, shape):
    d, s, v = read_npy(os.path.join(directory, name))
    if d != descr or s != shape:
        fail(f"{name}: {d} {s}, expected {descr} {shape}")
    else:
        print(f"ok   {name:12s} {d} {s}")
    return s, v


def matrix(shape, values):
    rows, cols = shape
    return [values[i * cols:(i + 1) * cols] for i in range(rows)]


def compare(name, got, want, rtol=1e-4, atol=1e-6):
    """got, want: flat lists. Reports the largest difference (the tolerance is float32 rounding)."""
    if len(got) != len(want):
        fail(f"{name}: {len(got)} values, expected {len(want)}")
        return
    worst, where = 0.0, 0
    for k, (a, b) in enumerate(zip(got, want)):
        excess = abs(a - b) - (atol + rtol * abs(b))
        if excess > worst:
            worst, where = excess, k
    if worst > 0:
        fail(f"{name}: entry {where} is {got[where]!r}, recomputed {want[where]!r}")
    else:
        print(f"ok   {name}: max |diff| = {max(abs(a - b) for a, b in zip(got, want)):.3g}")


def check_inspect(directory):
    N = read_npy(os.path.join(directory, "X.npy"))[1][0]
    shapes = {
        "X.npy": ("<f4", (N, 784)), "labels.npy": ("<i4", (N,)), "Z1.npy": ("<f4", (N, 128)),
        "H.npy": ("<f4", (N, 128)), "Z2.npy": ("<f4", (N, 10)), "P.npy": ("<f4", (N, 10)), "L.npy": ("<f4", ()),
        "dZ2.npy": ("<f4", (N, 10)), "dW2.npy": ("<f4", (128, 10)), "db2.npy": ("<f4", (1, 10)),
        "dH.npy": ("<f4", (N, 128)), "dZ1.npy": ("<f4", (N, 128)), "dW1.npy": ("<f4", (784, 128)),
        "db1.npy": ("<f4", (1, 128)), "W1.npy": ("<f4", (784, 128)), "b1.npy": ("<f4", (1, 128)),
        "W2.npy": ("<f4", (128, 10)), "b2.npy": ("<f4", (1, 10)),
    }
    t = {}
    for name, (descr, shape) in shapes.items():
        t[name[:-4]] = expect_shape(directory, name, descr, shape)[1]
    files = sorted(f for f in os.listdir(directory) if f.endswith(".npy"))
    if files != sorted(shapes):
        fail(f"inspect wrote {files}, expected {sorted(shapes)}")
    manifest = open(os.path.join(directory, "manifest.txt")).read()
    for name, (descr, shape) in shapes.items():
        shape_text = "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"
        if not re.search(rf"^{re.escape(name)}\s+\S+\s+{re.escape(shape_text)}\s", manifest, re.M):
            fail(f"manifest.txt has no line for {name} {shape_text}")
    if "dL/dW1 = X^T dZ1" not in manifest:
        fail("manifest.txt does not explain dW1 as X^T dZ1")
    if not any(t["dW1"]):
        fail("dW1 is all zeros: the check would prove nothing")

    X, y = matrix((N, 784), t["X"]), t["labels"]
    W1, b1, W2, b2 = matrix((784, 128), t["W1"]), t["b1"], matrix((128, 10), t["W2"]), t["b2"]
    Z1, H, Z2, P = (matrix((N, c), t[n]) for n, c in (("Z1", 128), ("H", 128), ("Z2", 10), ("P", 10)))
    dZ2, dH, dZ1 = matrix((N, 10), t["dZ2"]), matrix((N, 128), t["dH"]), matrix((N, 128), t["dZ1"])

    def matmul(A, B):
        inner, cols = len(B), len(B[0])
        return [[sum(A[i][k] * B[k][j] for k in range(inner)) for j in range(cols)] for i in range(len(A))]

    def transpose(A):
        return [list(col) for col in zip(*A)]

    def flat(A):
        return [v for row in A for v in row]

    # Forward: Z1 = X W1 + b1, H = max(0, Z1), Z2 = H W2 + b2, P = softmax(Z2), L = mean CE.
    compare("Z1 = X W1 + b1", t["Z1"], [v + b1[j % 128] for j, v in enumerate(flat(matmul(X, W1)))])
    compare("H = max(0, Z1)", t["H"], [max(0.0, v) for v in t["Z1"]], rtol=0, atol=0)
    compare("Z2 = H W2 + b2", t["Z2"], [v + b2[j % 10] for j, v in enumerate(flat(matmul(H, W2)))])
    soft = []
    for row in Z2:
        m = max(row)
        e = [math.exp(v - m) for v in row]
        soft += [v / sum(e) for v in e]
    compare("P = softmax(Z2)", t["P"], soft)
    loss = -sum(math.log(P[i][y[i]]) for i in range(N)) / N
    compare("L = -(1/N) sum log P[i, y_i]", t["L"], [loss])
    # Backward: dZ2 = (P - Y)/N, dW2 = H^T dZ2, db2 = sum dZ2, dH = dZ2 W2^T,
    # dZ1 = dH * [Z1 > 0], dW1 = X^T dZ1, db1 = sum dZ1.
    compare("dZ2 = (P - Y) / N", t["dZ2"], [(P[i][j] - (1.0 if j == y[i] else 0.0)) / N for i in range(N) for j in range(10)])
    compare("dW2 = H^T dZ2", t["dW2"], flat(matmul(transpose(H), dZ2)))
    compare("db2 = sum_i dZ2", t["db2"], [sum(dZ2[i][j] for i in range(N)) for j in range(10)])
    compare("dH = dZ2 W2^T", t["dH"], flat(matmul(dZ2, transpose(W2))))
    compare("dZ1 = dH * [Z1 > 0]", t["dZ1"], [d if z > 0 else 0.0 for d, z in zip(t["dH"], t["Z1"])], rtol=0, atol=0)
    compare("dW1 = X^T dZ1", t["dW1"], flat(matmul(transpose(X), dZ1)))
    compare("db1 = sum_i dZ1", t["db1"], [sum(dZ1[i][j] for i in range(N)) for j in range(128)])


def check_export(directory):
    for name, shape in (("dense1.W.npy", (784, 128)), ("dense1.b.npy", (1, 128)),
                        ("dense2.W.npy", (128, 10)), ("dense2.b.npy", (1, 10))):
        expect_shape(directory, name, "<f4", shape)
    manifest = open(os.path.join(directory, "manifest.txt")).read()
    for needle in ("dense1.W.npy  float32  (784, 128)", "weights1.csv", "digits.csv"):
        if needle not in manifest:
            fail(f"manifest.txt lacks '{needle}'")
    with open(os.path.join(directory, "weights1.csv")) as f:
        lines = f.read().splitlines()
    if len(lines) != 785 or lines[0].split(",")[-1] != "h127":
        fail(f"weights1.csv: {len(lines)} lines, header ends with {lines[0].split(',')[-1]!r}")
    _, _, W = read_npy(os.path.join(directory, "dense1.W.npy"))
    to_f32 = lambda text: struct.unpack("<f", struct.pack("<f", float(text)))[0]  # shortest text -> float32
    if [to_f32(v) for v in lines[1].split(",")] != W[:128]:
        fail("weights1.csv row 1 differs from dense1.W.npy row 0")


def main(argv):
    if len(argv) >= 3 and argv[1] == "inspect":
        check_inspect(argv[2])
    elif len(argv) >= 3 and argv[1] == "export":
        check_export(argv[2])
    elif len(argv) == 4 and argv[1] == "same":
        if read_npy(argv[2]) != read_npy(argv[3]):
            fail(f"{argv[2]} and {argv[3]} differ")
        else:
            print(f"ok   {argv[2]} == {argv[3]}")
    else:
        print(__doc__)
        return 2
    print(f"check_npy.py {argv[1]}: {'FAILED ' + str(len(FAILURES)) if FAILURES else 'all checks passed'}")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
