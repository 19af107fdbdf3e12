"""Neural style transfer and the artist-machine loops of the thesis' chapter 6 (see the individual modules).

``vgg`` (the VGG-16 feature network and its weights), ``ot`` (relaxed, entropic and exact earth mover's
distances), ``style`` (Gatys and STROTSS-like optimisation), ``feedforward`` (Magenta's arbitrary style
network), ``recursion`` (the self-style recursion, thesis eq. 6.1), ``predictivity`` (scoring outputs against
paintings), ``portrait`` (the portrait loop and its widget), ``images`` (bundled content and style images),
``sketch`` (a package: the Sketch-RNN on KanjiVG strokes, its sampling, training, weights and CLI; thesis 6.1),
``dialog`` (the pure turn-by-turn rules of a drawing dialog between a person and a completer) and ``canvas`` (its
drawings and ipycanvas widget).
"""
