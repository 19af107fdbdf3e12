"""Image classification with local methods (thesis ch. 4-5): scattering patch networks, patch k-NN encodings."""
