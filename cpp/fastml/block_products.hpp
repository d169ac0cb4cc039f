// The two matrix products of the fused linear pass, written for its shapes.
//
// A block of the pass is a few hundred rows of X (row-major, n x d) against
// a small number k of outputs. Eigen's general GEMM copies ("packs") both
// operands before multiplying, and with k between 1 and a few dozen that
// copy of X costs more than the arithmetic (measured with perf on the
// 60,000 x 784 x 10 workload: about 60% of the pass in the packing routines).
// These kernels read X in place instead:
//   block_logits:   Z = X W^T + b, a tile of R rows by J outputs at a time,
//                   so each loaded packet of X feeds J multiply-adds;
//   block_gradient: G += dZ^T X, a strip of F packets of columns by J outputs
//                   held in registers while the rows of the block stream by.
// Both use Eigen's packet primitives, so they vectorize for whatever
// instruction set Eigen was compiled for. The summation order depends only on
// the shapes, never on the thread count or the alignment of the data.
#pragma once

#include <Eigen/Core>

#include "common.hpp"

namespace fastml {
namespace detail {

template <typename T>
using PacketOf = typename Eigen::internal::packet_traits<T>::type;

// Cache lines of the next block of rows, requested a few at a time while the
// current block is multiplied, so that memory reads overlap with arithmetic.
struct PrefetchCursor {
    const char* next = nullptr;
    const char* end = nullptr;

    void step() {
        if (next < end) {
            __builtin_prefetch(next, 0, 2);
            next += 64;
        }
    }
};

template <typename T>
constexpr Index packet_size() {
    return Eigen::internal::packet_traits<T>::size;
}

// Z[r][j] = dot(X row r, W row j) for R rows and J outputs.
template <typename T, int R, int J>
void logits_tile(const T* X, const T* W, Index d, T* Z, Index ldz) {
    using Packet = PacketOf<T>;
    using Eigen::internal::pmadd;
    using Eigen::internal::ploadu;
    constexpr Index P = packet_size<T>();
    Packet acc[R][J];
    for (int r = 0; r < R; ++r) {
        for (int j = 0; j < J; ++j) acc[r][j] = Eigen::internal::pset1<Packet>(T(0));
    }
    const Index full = d - d % P;
    for (Index f = 0; f < full; f += P) {
        Packet x[R];
        for (int r = 0; r < R; ++r) x[r] = ploadu<Packet>(X + r * d + f);
        for (int j = 0; j < J; ++j) {
            const Packet w = ploadu<Packet>(W + j * d + f);
            for (int r = 0; r < R; ++r) acc[r][j] = pmadd(x[r], w, acc[r][j]);
        }
    }
    for (int r = 0; r < R; ++r) {
        for (int j = 0; j < J; ++j) {
            T total = Eigen::internal::predux(acc[r][j]);
            for (Index f = full; f < d; ++f) total += X[r * d + f] * W[j * d + f];
            Z[r * ldz + j] = total;
        }
    }
}

// Logits of R rows for every output, J outputs at a time.
template <typename T, int R>
void logits_rows(const T* X, const T* W, Index d, Index k, T* Z) {
    Index j = 0;
    for (; j + 4 <= k; j += 4) logits_tile<T, R, 4>(X, W + j * d, d, Z + j, k);
    for (; j + 2 <= k; j += 2) logits_tile<T, R, 2>(X, W + j * d, d, Z + j, k);
    for (; j < k; ++j) logits_tile<T, R, 1>(X, W + j * d, d, Z + j, k);
}

// G[j][f..] += sum_r dZ[r][j] * X[r][f..] for J outputs and F packets of
// columns starting at column f0, accumulated in registers over all n rows.
template <typename T, int J, int F>
void gradient_strip(const T* dZ, Index k, const T* X, Index n, Index d, Index f0, T* G,
                    PrefetchCursor& prefetch) {
    using Packet = PacketOf<T>;
    using Eigen::internal::pmadd;
    using Eigen::internal::ploadu;
    constexpr Index P = packet_size<T>();
    Packet acc[J][F];
    for (int j = 0; j < J; ++j) {
        for (int q = 0; q < F; ++q) acc[j][q] = ploadu<Packet>(G + j * d + f0 + q * P);
    }
    for (Index r = 0; r < n; ++r) {
        prefetch.step();
        Packet x[F];
        for (int q = 0; q < F; ++q) x[q] = ploadu<Packet>(X + r * d + f0 + q * P);
        for (int j = 0; j < J; ++j) {
            const Packet scale = Eigen::internal::pset1<Packet>(dZ[r * k + j]);
            for (int q = 0; q < F; ++q) acc[j][q] = pmadd(scale, x[q], acc[j][q]);
        }
    }
    for (int j = 0; j < J; ++j) {
        for (int q = 0; q < F; ++q) Eigen::internal::pstoreu(G + j * d + f0 + q * P, acc[j][q]);
    }
}

// G[j][f] += sum_r dZ[r][j] * X[r][f] for J outputs over all columns.
template <typename T, int J>
void gradient_outputs(const T* dZ, Index k, const T* X, Index n, Index d, T* G,
                      PrefetchCursor& prefetch) {
    constexpr Index P = packet_size<T>();
    // Fewer outputs leave registers for wider strips of columns.
    constexpr int F = J == 1 ? 8 : (J <= 4 ? 4 : 2);
    Index f = 0;
    for (; f + F * P <= d; f += F * P) gradient_strip<T, J, F>(dZ, k, X, n, d, f, G, prefetch);
    for (; f + P <= d; f += P) gradient_strip<T, J, 1>(dZ, k, X, n, d, f, G, prefetch);
    for (; f < d; ++f) {
        for (int j = 0; j < J; ++j) {
            T total = G[j * d + f];
            for (Index r = 0; r < n; ++r) total += dZ[r * k + j] * X[r * d + f];
            G[j * d + f] = total;
        }
    }
}

// Outputs handled in one sweep over the block. Each output of a sweep keeps
// F = 2 packets of accumulators in registers, and every sweep reads the block
// of X again from the L2 cache, so with 32 vector registers up to 12 outputs
// share one sweep (24 accumulators).
constexpr int kMaxSweepOutputs = EIGEN_ARCH_DEFAULT_NUMBER_OF_REGISTERS >= 32 ? 12 : 6;

// gradient_outputs for a run-time count of 1 to kMaxSweepOutputs outputs.
template <typename T>
void gradient_sweep(const T* dZ, Index k, const T* X, Index n, Index d, T* G, Index outputs,
                    PrefetchCursor& prefetch) {
    switch (outputs) {
        case 1: return gradient_outputs<T, 1>(dZ, k, X, n, d, G, prefetch);
        case 2: return gradient_outputs<T, 2>(dZ, k, X, n, d, G, prefetch);
        case 3: return gradient_outputs<T, 3>(dZ, k, X, n, d, G, prefetch);
        case 4: return gradient_outputs<T, 4>(dZ, k, X, n, d, G, prefetch);
        case 5: return gradient_outputs<T, 5>(dZ, k, X, n, d, G, prefetch);
        case 6: return gradient_outputs<T, 6>(dZ, k, X, n, d, G, prefetch);
        default: break;
    }
    if constexpr (kMaxSweepOutputs > 6) {
        switch (outputs) {
            case 7: return gradient_outputs<T, 7>(dZ, k, X, n, d, G, prefetch);
            case 8: return gradient_outputs<T, 8>(dZ, k, X, n, d, G, prefetch);
            case 9: return gradient_outputs<T, 9>(dZ, k, X, n, d, G, prefetch);
            case 10: return gradient_outputs<T, 10>(dZ, k, X, n, d, G, prefetch);
            case 11: return gradient_outputs<T, 11>(dZ, k, X, n, d, G, prefetch);
            case 12: return gradient_outputs<T, 12>(dZ, k, X, n, d, G, prefetch);
            default: break;
        }
    }
}

}  // namespace detail

// Writes Z = X W^T + b for the n x d row-major block X, the k x d row-major
// weights W and the k intercepts b; Z is row-major n x k.
template <typename T>
void block_logits(const T* X, Index n, Index d, const T* W, const T* b, Index k, T* Z) {
    Index r = 0;
    for (; r + 4 <= n; r += 4) detail::logits_rows<T, 4>(X + r * d, W, d, k, Z + r * k);
    for (; r < n; ++r) detail::logits_rows<T, 1>(X + r * d, W, d, k, Z + r * k);
    for (Index i = 0; i < n; ++i) {
        for (Index j = 0; j < k; ++j) Z[i * k + j] += b[j];
    }
}

// Adds dZ^T X to G: dZ is row-major n x k, X row-major n x d, G row-major
// k x d. The `prefetch_count` values from `prefetch` on (the next block of
// X, or null) are loaded into the cache along the way.
template <typename T>
void block_gradient(const T* dZ, Index n, Index k, const T* X, Index d, T* G,
                    const T* prefetch = nullptr, Index prefetch_count = 0) {
    detail::PrefetchCursor cursor;
    if (prefetch != nullptr) {
        cursor.next = reinterpret_cast<const char*>(prefetch);
        cursor.end = reinterpret_cast<const char*>(prefetch + prefetch_count);
    }
    // Sweeps of kMaxSweepOutputs outputs, the rest split evenly, so that 14
    // outputs become two sweeps of 7 rather than 12 and 2.
    const Index sweeps = (k + detail::kMaxSweepOutputs - 1) / detail::kMaxSweepOutputs;
    Index j = 0;
    for (Index sweep = 0; sweep < sweeps; ++sweep) {
        const Index outputs = (k - j) / (sweeps - sweep);
        detail::gradient_sweep(dZ + j, k, X, n, d, G + j * d, outputs, cursor);
        j += outputs;
    }
}

}  // namespace fastml
