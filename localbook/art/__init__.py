"""Neural style transfer and the artist-machine loops of the thesis' chapter 6 (see the individual modules).

``vgg`` (the VGG-16 feature network and its weights), ``ot`` (relaxed, entropic and exact earth mover's
distances), ``style`` (Gatys and STROTSS-like optimisation), ``feedforward`` (Magenta's arbitrary style
network), ``recursion`` (the self-style recursion, thesis eq. 6.1), ``predictivity`` (scoring outputs against
paintings), ``portrait`` (the portrait loop and its widget), ``images`` (bundled content and style images),
``sketch`` (Sketch-RNN on KanjiVG strokes: data, model, training, completion; thesis 6.1) and ``canvas`` (the
turn-by-turn drawing dialog between a person and a completer, and its ipycanvas widget).
"""
