"""HiPPO-LegS initialization of the RF eigenvalues (as in S5 and the S5-RF reference).

The reference diagonalizes the normal part S of HiPPO-LegS with
``eigh(S * -1j)`` in complex64 (JAX on CPU: LAPACK ``cheevd`` from scipy's
OpenBLAS) and does not store the eigenvectors V in checkpoints: it rebuilds them
whenever a model is built.  The eigenvalues of a block are distinct (at least
0.53 apart up to size 64), so each column of V is fixed up to a unit phase.
LAPACK returns the first row real; its sign is decided by float32 rounding
noise on the zero diagonal of the tridiagonal matrix, so it depends on the CPU's
BLAS kernels (OpenBLAS's Haswell and SkylakeX kernels disagree for half of the
block sizes 2..64), and a negated column changes the network (``x = V z``, B
was trained in the z basis).

Portable rule: eigenvectors of the Hermitian part in float64, each column
rotated so that its first entry is real, with the sign from
``REFERENCE_FIRST_ROW_NEGATIVE``, then cast to complex64.  No closed-form rule
gives those signs (they are rounding noise): the table holds the signs the
reference code gets with OpenBLAS's Haswell kernels (AVX2 x86 CPUs), the kind of
machine that recorded the test fixtures.  See docs/reference-checkpoints.md,
"Rebuilding V portably".
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

# Bit j of entry n - 2 is set when column j (eigenvalues ascending) of the block
# of size n has a negative first entry.  Sizes outside 2..64 use positive signs.
REFERENCE_FIRST_ROW_NEGATIVE: tuple[int, ...] = (
    0x3, 0x1, 0x1, 0x11, 0x3c, 0x6a, 0x75, 0x127, 0x201, 0x311, 0x5ed, 0x8aa, 0x2c3, 0x54f7, 0x2b5b, 0x112bd,
    0x3fffa, 0x5ac43, 0x83bc1, 0x1aaaa4, 0xe4e28, 0x525361, 0x541ed4, 0x1113062, 0xa1f074, 0x2be1f8b, 0xd707c35,
    0x1ae07834, 0x587c0c9, 0x4b0781c9, 0x2b81f069, 0xd701e069, 0x353e0fc68, 0xa7c1fc69, 0xd5e07c1d5, 0xabc0781d6,
    0x2d707c0f2b, 0x7ae0f80f2f, 0x4a781f032a, 0x14f01f0728, 0x1ab81f03c57, 0x55703e03c56, 0xf53c07c0e52,
    0x2a7c07c0e51, 0x1eb1f83f8659, 0x5d63f07f0657, 0xfa8f01f03caf, 0xb51e01f03ca9, 0x6a701f01f35c, 0x154f03e01e35b,
    0xad47c07c07355, 0x15a8f807c07355, 0x2aac3f83f83945, 0x2aa780f807c6bb, 0xd2b1f01f01e6b5, 0x1a563e01f01e6b4,
    0x35570fe0fe0f6b4, 0x6aae1fc1fe0e6b4, 0x1558fc07c078d4a, 0x2ab1f807c078d4a, 0x15567c07c07e328b,
    0x2aacf80f807e328a, 0xeaae3e01f00f1a89,
)  # fmt: skip


def legs_normal_part(n: int, dtype: type[np.floating] = np.float32) -> np.ndarray:
    """The normal part S of the HiPPO-LegS matrix of size ``n``, in ``dtype`` (float32 like the reference)."""
    k = np.arange(n, dtype=dtype)
    p = np.sqrt(1 + 2 * k)
    a = -(np.tril(p[:, None] * p[None, :]) - np.diag(k))
    q = np.sqrt(k + dtype(0.5))
    return (a + q[:, None] * q[None, :]).astype(dtype)


def first_row_signs(block_size: int) -> np.ndarray:
    """The sign (+1/-1) of the real first entry of each eigenvector column of a block."""
    tabulated = 2 <= block_size < 2 + len(REFERENCE_FIRST_ROW_NEGATIVE)
    mask = REFERENCE_FIRST_ROW_NEGATIVE[block_size - 2] if tabulated else 0
    return np.array([-1.0 if mask >> j & 1 else 1.0 for j in range(block_size)])


def block_eigensystem(block_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (complex64, real part -1/2, imaginary parts ascending) and eigenvectors of one HiPPO block.

    V is computed in float64 and brought to the canonical phase of the module
    docstring (first row real, signs from ``first_row_signs``) before the cast.
    """
    s = legs_normal_part(block_size, np.float64)
    hermitian = -0.5j * (s - s.T)  # the Hermitian part of S * -1j
    imag, v = np.linalg.eigh(hermitian)
    v = v * (np.conj(v[0]) / np.abs(v[0]))
    v[0] = v[0].real  # exactly real: drop the ~1e-17 imaginary rounding the rotation may leave
    v = v * first_row_signs(block_size)
    real = np.mean(np.diagonal(s))
    return (real + 1j * imag).astype(np.complex64), v.astype(np.complex64)


def init_eigensystem(num_neurons: int, num_blocks: int) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (P,) and block-diagonal eigenvectors V (P, P) of a layer."""
    lam, v = block_eigensystem(num_neurons // num_blocks)
    return np.tile(lam, num_blocks), scipy.linalg.block_diag(*([v] * num_blocks))
