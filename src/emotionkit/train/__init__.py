"""Training helpers (install with ``pip install emotionkit[train]``).

Loaders for FER-2013 and image folders, augmentation, the two-stage trainer
(with weight averaging), ensembles of trained models and evaluation reports. Import submodules directly, e.g.
``from emotionkit.train.trainer import train``; this package imports nothing heavy.
"""
