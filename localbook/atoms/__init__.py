"""Atomistic helpers: EAM potentials in torch, defect databases, harmonic vibrational entropies and local descriptors
(thesis ch. 3)."""
