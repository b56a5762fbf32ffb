// Infrastructure (no TypeScript reference of its own): Householder reflectors H = I − tau·v·vᵀ
// (v[0] = 1, LAPACK's dlarfg convention) and their blocked application in compact-WY form, the part
// that the native forms of src/linalg/eigen.ts (tridiagonalisation and its back-transformation) and
// src/linalg/orthogonal.ts (QR) share. The blocked forms make the work
// GEMM (linalg_matrix.h).
#pragma once
#include <vector>

#include "linalg_matrix.h"

namespace randlab {
namespace linalg {

// Euclidean norm without overflow or harmful underflow (scaled sum of squares).
double scaledNorm(const double* x, Index count, Index stride);

struct Reflector {
  double tau;    // 0 when x is already a multiple of e1 (H = I)
  double beta;   // H·x = beta·e1
  double scale;  // v[1:] = x[1:] · scale
};

// The reflector that maps (alpha, x[1:]) with ‖x[1:]‖ = tailNorm to beta·e1.
Reflector makeReflector(double alpha, double tailNorm);

// Compact WY form of the block H_0 H_1 ⋯ H_{b−1} = I − V·T·Vᵀ (dlarft, forward, columnwise).
// V is m × b row-major (unit lower trapezoidal), T is b × b upper triangular.
void blockReflectorFactor(const double* v, Index m, Index b, const double* tau, double* t);

// C (m × nc, leading dimension ldc) := (I − V·op(T)·Vᵀ)·C, op(T) = Tᵀ when transposeT.
void applyBlockReflector(const double* v, Index m, Index b, const double* t, bool transposeT, double* c, Index nc,
                         Index ldc, std::vector<double>& work);

// The m × b matrix V of reflectors k0 .. k0+b−1 stored LAPACK-style below their unit entries in the
// columns of `a` (n × n): reflector k has its unit entry at row k + offset and its tail below it.
void gatherReflectors(const double* a, Index n, Index k0, Index b, Index offset, double* v);

// Q = H_0 H_1 ⋯ H_{count−1} (n × n), accumulated backward in blocks so each block is GEMM work.
void formQ(const double* a, Index n, const double* tau, Index count, Index offset, double* q);

// rows (nRows × n, row-major) := rows · Qᵀ for Q = H_0 ⋯ H_{count−1}, i.e. rows · H_{count−1} ⋯ H_0:
// blocks of reflectors from the last, each (H_k0 ⋯ H_k1)ᵀ = I − V Tᵀ Vᵀ applied from the right as GEMM.
// (Row j of the result is (Q x_j)ᵀ for row j = x_jᵀ: eigenvectors of T become those of A.)
void multiplyByQTranspose(const double* a, Index n, const double* tau, Index count, Index offset, double* rows,
                          Index nRows);

}  // namespace linalg
}  // namespace randlab
