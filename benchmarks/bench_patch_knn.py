"""Chapter 06's patch k-NN encoding against two exact k-nearest-neighbour searches; prints throughputs and ratios.

    python benchmarks/bench_patch_knn.py [--device cpu|cuda] [--images 64] [--atoms 1024]

The task: for every 6 x 6 patch of ``--images`` Fashion-MNIST images (23 x 23 = 529 per image), mark its
K = 0.4 |D| nearest atoms among |D| = ``--atoms`` whitened dictionary patches and among their negatives
(thesis eq. 5.2, app. B.2). Three routes produce the same binary codes (checked before timing):

* ``localbook``: :class:`localbook.images.knn_encoding.KNNPatchEncoder`, the whitening as a convolution, the atoms
  as a 1 x 1 convolution, a (K+1)-th-value threshold per position (``encode``: no pooling);
* ``cdist + topk``: explicit whitened patches, ``torch.cdist`` to the atoms, ``topk``, scatter
  (:func:`localbook.images.knn_encoding.bruteforce_knn_encoding`);
* ``faiss``: faiss-cpu's exact ``IndexFlatL2`` over the whitened atoms, ``search`` with k = K, then the same
  scatter. faiss-cpu is optional (``pip install -e .[bench]``); the peer is skipped when it is missing.

Throughput is in patches per second (one patch = both halves of its code), best round; the ratio is the median
over alternating rounds of peer time / localbook time (the codes are checked equal first).
"""
from __future__ import annotations

import argparse
import statistics

import numpy as np
import torch

from localbook.data.images import load_fashion_mnist
from localbook.device import best_of, pick_device
from localbook.images import knn_encoding as ke
from localbook.images import whitening as wh


def faiss_encoding(x, dictionary, whitening, k):
    """The same codes with faiss' exact L2 index (CPU, float32)."""
    import faiss

    p = dictionary.shape[-1]
    b, _, h, w = x.shape
    patches = whitening.transform(wh.extract_patches(x, p).reshape(-1, whitening.dim)).float().numpy()
    atoms = whitening.transform(dictionary.double()).float().numpy()
    halves = []
    for a in (atoms, -atoms):
        index = faiss.IndexFlatL2(a.shape[1])
        index.add(np.ascontiguousarray(a))
        _, idx = index.search(np.ascontiguousarray(patches), k)
        code = torch.zeros(len(patches), len(a))
        halves.append(code.scatter_(1, torch.from_numpy(idx), 1.0))
    phi = torch.cat(halves, dim=1)
    return phi.reshape(b, h - p + 1, w - p + 1, -1).permute(0, 3, 1, 2)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--atoms", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    device = pick_device(args.device)

    train = load_fashion_mnist("train", n=2000, seed=0)
    whitening = wh.PatchWhitening(1e-3).fit_images(train.x, 6)
    dictionary = wh.sample_patches(train.x, args.atoms, 6, rng=0, distinct=True)
    k = round(0.4 * args.atoms)
    x = load_fashion_mnist("test", n=args.images, seed=0).x
    n_patches = args.images * 23 * 23
    print(f"{args.images} images, {n_patches} patches, |D| = {args.atoms} (+ negatives), K = {k}, device {device}, "
          f"torch threads {torch.get_num_threads()}, {args.rounds} alternating rounds")

    encoder = ke.KNNPatchEncoder(dictionary, whitening, k).to(device)
    xd = x.to(device)
    routes = {"localbook convolution": lambda: encoder.encode(xd),
              "torch cdist + topk": lambda: ke.bruteforce_knn_encoding(xd, dictionary.to(device), whitening, k)}
    try:
        import faiss  # noqa: F401
        routes["faiss IndexFlatL2 (CPU)"] = lambda: faiss_encoding(x, dictionary, whitening, k)
    except ImportError:
        print("faiss: skipped (faiss-cpu not installed: pip install -e .[bench])")
    ours = encoder.encode(xd).cpu()
    for name, fn in list(routes.items())[1:]:
        mismatch = float((ours != fn().cpu()).float().mean())
        if mismatch > 1e-3:
            raise AssertionError(f"localbook and {name} codes differ on {100 * mismatch:.2f} % of entries")
    times = {name: [] for name in routes}
    for _ in range(args.rounds):           # alternate, so that a change of the machine's load hits every route
        for name, fn in routes.items():
            times[name].append(best_of(fn, repeat=1)[0])
    mine = times["localbook convolution"]
    for name, t in times.items():
        ratio = statistics.median(a / b for a, b in zip(t, mine))
        print(f"{name:24s} {n_patches / min(t):12,.0f} patches/s (best {min(t):.3f} s)   "
              f"peer / localbook, median of rounds: {ratio:.2f}")


if __name__ == "__main__":
    main()
