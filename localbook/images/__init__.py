"""Image classification with local methods (thesis chapters 4 and 5). One module per concern, data at the
bottom and figures on top:

* ``scattering2d`` -- the 2-D scattering as a descriptor of patches, with oversampling (kymatio);
* ``patch_cnn`` -- the scattering patch network and the models it is compared with (ch. 4);
* ``whitening`` -- image patches, their sampling and whitening (ch. 5, app. B.1);
* ``knn_encoding`` -- the K-nearest-neighbour encoding of patches in a dictionary (eqs. 5.2, 5.4, app. B.2);
* ``patch_knn`` -- the patch k-NN classifier pipeline (ch. 5);
* ``intrinsic_dim`` -- the dimension of image patches (section 5.3.3, app. B.3);
* ``augment`` -- random translations and flips; ``training`` -- the one SGD loop (single process or torchrun);
* ``baselines`` -- pixel logistic regression and whole-image k-NN; ``experiments`` -- comparisons over seeds
  and their tables; ``figures`` -- plots and widgets; ``train_patch_cnn`` -- the command line.

Import the submodules directly, e.g. ``from localbook.images import patch_knn, training``.
"""
