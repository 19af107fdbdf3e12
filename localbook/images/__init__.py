"""Image classification with local methods (thesis ch. 4-5): the scattering patch network
(``scattering_cnn``, ``train_patch_cnn``), whitened-patch k-nearest-neighbour encodings (``patches``), and the
dimension of image patches (``intrinsic_dim``).

Import the submodules directly, e.g. ``from localbook.images import patches, scattering_cnn``.
"""
