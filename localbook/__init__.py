"""localbook: the helper package of an executable reproduction of L. Thiry's thesis
*On the efficiency of local methods in image classification and energy regression in physics* (2021).

Chapters import from here; every compute function takes ``device=`` and runs on CPU or CUDA.
"""
__version__ = "0.1.0"

__all__ = ["__version__"]
