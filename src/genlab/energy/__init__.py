"""The energy-based model's pieces (the `ebm` family, genlab/families/ebm.py):

- network: the convolutional energy E(x) (Swish, optional spectral normalization), and the chapter's
  classifier as an energy, E(x) = -logsumexp of its logits (JEM);
- langevin: Langevin dynamics as one compiled loop, and `Sampler`, a network's compiled chain;
- buffer: the replay buffer the training chains start from;
- trainer: contrastive divergence against short-run Langevin samples, one compiled step;
- restore: damaged images restored by energy descent (`genlab.energy.restore`);
- figures: the run's figures (buffer, energies, samples, chain, energy histogram, restoration).

Importing this package imports no backend and no Keras.
"""
from __future__ import annotations

from genlab.energy.restore import Restoration, corrupt, restore

__all__ = ["Restoration", "corrupt", "restore"]
