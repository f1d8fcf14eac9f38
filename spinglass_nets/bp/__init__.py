"""Message passing for the binary perceptron: BP, focusing BP (with protocols), reinforced BP.

- :func:`bp`: marginals and Bethe entropy (Gaussian cavity approximation, edge or AMP form);
- :func:`local_entropy_bp`: Franz-Parisi local entropy around a reference on one instance;
- :func:`focusing_bp` with :mod:`~spinglass_nets.bp.protocols`; :func:`reinforced_bp`;
- :func:`entropy_driven_mc`: Metropolis on a centre with energy minus its BP local free entropy.
"""

from . import protocols
from .core import BPResult, LocalEntropyResult, bp, local_entropy_bp
from .edmc import entropy_driven_mc
from .focusing import focusing_bp, reinforced_bp
from .protocols import Protocol, pseudo_reinforcement, scoping, standard_reinforcement

__all__ = ["BPResult", "LocalEntropyResult", "Protocol", "bp", "entropy_driven_mc", "focusing_bp", "local_entropy_bp",
           "protocols", "pseudo_reinforcement", "reinforced_bp", "scoping", "standard_reinforcement"]
