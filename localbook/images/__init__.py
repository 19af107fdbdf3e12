"""Image classification with local methods (thesis ch. 4-5): scattering + patch networks, whitened-patch
k-nearest-neighbour encodings, and the dimension of image patches.

Import the submodules directly, e.g. ``from localbook.images import patches, intrinsic_dim``.
"""
