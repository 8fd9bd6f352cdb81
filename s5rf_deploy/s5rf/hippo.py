"""HiPPO-LegS initialization of the RF eigenvalues (as in S5 and the S5-RF reference).

The reference computes everything in single precision (JAX's default); the
eigenvectors V of a Hermitian matrix are defined only up to a phase per
column, so we reproduce JAX's computation to get the same V: JAX's ``eigh``
symmetrizes its input, ``(M + M^H) / 2``, and calls LAPACK's divide-and-conquer
``heevd`` on the lower triangle in complex64.  (``numpy.linalg.eigh`` on the
unsymmetrized matrix flips the sign of some columns.)
"""

from __future__ import annotations

import numpy as np
import scipy.linalg


def legs_normal_part(n: int) -> np.ndarray:
    """The normal part S of the HiPPO-LegS matrix of size ``n`` (float32)."""
    p = np.sqrt(1 + 2 * np.arange(n, dtype=np.float32))
    a = -(np.tril(p[:, None] * p[None, :]) - np.diag(np.arange(n, dtype=np.float32)))
    q = np.sqrt(np.arange(n, dtype=np.float32) + np.float32(0.5))
    return (a + q[:, None] * q[None, :]).astype(np.float32)


def block_eigensystem(block_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (complex64, real part -1/2) and eigenvectors of one HiPPO block."""
    s = legs_normal_part(block_size)
    real = np.float32(np.mean(np.diagonal(s)))
    m = (s * np.complex64(-1j)).astype(np.complex64)
    hermitian = ((m + m.conj().T) / 2).astype(np.complex64)
    imag, v = scipy.linalg.eigh(hermitian, lower=True, driver="evd")
    return (real + 1j * imag).astype(np.complex64), v.astype(np.complex64)


def init_eigensystem(num_neurons: int, num_blocks: int) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (P,) and block-diagonal eigenvectors V (P, P) of a layer."""
    lam, v = block_eigensystem(num_neurons // num_blocks)
    return np.tile(lam, num_blocks), scipy.linalg.block_diag(*([v] * num_blocks))
