// Implements part of src/linalg/eigen.ts (symmetricEigen): the stages of the eigendecomposition,
// LAPACK's dsytrd + dstedc + dormtr: linalg_eigen_tridiagonal.cc reduces A to a tridiagonal T = Qᵀ A Q,
// linalg_eigen_divide_conquer.cc solves T (with linalg_eigen_ql.cc's QL iteration for small blocks), and
// linalg_eigen.cc takes the eigenvectors back to A and exports symmetricEigen.
#pragma once
#include <vector>

#include "linalg_matrix.h"

namespace randlab {
namespace linalg {

struct Tridiagonal {
  std::vector<double> d;    // diagonal, n
  std::vector<double> e;    // sub-diagonal, e[i] = T(i+1, i); e[n−1] = 0
  std::vector<double> tau;  // n − 2 reflectors (tau = 0: identity)
};

// Householder tridiagonalisation of the row-major n × n matrix a (lower triangle read, overwritten).
// On return the reflector tails v_k[2:] lie in a[(k+2..n−1), k]; v_k[1] = 1 is implicit.
Tridiagonal tridiagonalise(double* a, Index n);

// EISPACK tql2 (as in JAMA) on the tridiagonal (d, e): eigenvalues into d (unsorted), the rows of z
// (n × n, rows = vectors) rotated along. Returns false if an eigenvalue fails to converge in 30
// iterations.
bool tridiagonalQl(std::vector<double>& d, std::vector<double>& e, double* z, Index n);

// Zt (m × m, rows = eigenvectors) and ascending values d of the symmetric tridiagonal (d, e) of size m.
// Returns false if a QL leaf fails to converge.
bool divideAndConquer(double* d, double* e, Index m, double* zt);

}  // namespace linalg
}  // namespace randlab
