#!/usr/bin/env python3
"""Reference value of linear CKA (Kornblith et al. 2019) for ssl-distill-targets' unit test.

Requires numpy. Prints CKA(X, Y) for the small matrices below (the Rust test hard-codes them
and this value): CKA = ||Yc^T Xc||_F^2 / (||Xc^T Xc||_F ||Yc^T Yc||_F), columns centred.
"""

import numpy as np

X = np.array([[1.0, 2.0, 0.5], [0.0, 1.0, -1.0], [3.0, -1.0, 2.0], [2.0, 0.0, 1.0], [-1.0, 1.5, 0.0], [0.5, 0.5, 0.5]])
Y = np.array([[0.3, 1.0], [1.2, -0.4], [-0.7, 2.2], [0.0, 0.9], [1.1, 1.0], [-0.5, 0.1]])


def cka(x, y):
    x = x - x.mean(0)
    y = y - y.mean(0)
    return np.linalg.norm(y.T @ x) ** 2 / (np.linalg.norm(x.T @ x) * np.linalg.norm(y.T @ y))


print(f"{cka(X, Y):.10f}")
