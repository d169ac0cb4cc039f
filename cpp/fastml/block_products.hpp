// The two matrix products of the fused linear pass, written for its shapes.
//
// A block of the pass is a few hundred rows of X (row-major, n x d) against
// a small number k of outputs. Eigen's general GEMM copies ("packs") both
// operands before multiplying, and with k between 1 and a few dozen that
// copy of X costs more than the arithmetic (measured with perf on the
// 60,000 x 784 x 10 workload: about 60% of the pass in the packing routines).
// These kernels read X in place instead:
//   block_logits:   Z = X W^T + b, a tile of 4 rows by up to 5 outputs at a
//                   time, so each loaded packet of X feeds several
//                   multiply-adds. With one output, P rows at a time, whose
//                   P sums come out of one transpose.
//   block_gradient: G += dZ^T X, a strip of F packets of columns by J outputs
//                   held in registers while the rows of the block stream by.
// Columns that fill no packet are read as one masked packet. While a block
// is multiplied, both kernels request the next block of X from memory, a
// few lines per step (PrefetchCursor).
// Both use Eigen's packet primitives, so they vectorize for whatever
// instruction set Eigen was compiled for. The summation order depends only on
// the shapes, never on the thread count or the alignment of the data.
#pragma once

#include <Eigen/Core>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>

#include "common.hpp"

namespace fastml {
namespace detail {

template <typename T>
using PacketOf = typename Eigen::internal::packet_traits<T>::type;

// Requests the cache lines of the next block of rows a few at a time while
// the current block is multiplied, so that reading memory overlaps with
// arithmetic. Both products of a block step the same cursor, once per inner
// iteration. The lines are spread evenly over the steps, so that the whole
// next block is requested by the end of the block. On the 60,000 x 784
// pass this took 32.7 to 26 ms on one thread: the logits had waited on the
// first reads of each block.
struct PrefetchCursor {
    const char* next = nullptr;
    const char* end = nullptr;
    // Lines per step in units of 1/65536: the next block is usually a few
    // lines more or fewer than the steps, and requesting two lines a step
    // to finish halfway was measured slower than an even spread.
    std::uint32_t rate = 0;
    std::uint32_t credit = 0;

    void step() {
        credit += rate;
        while (credit >= kOne && next < end) {
            __builtin_prefetch(next, 0, 2);
            next += 64;
            credit -= kOne;
        }
    }

    // Requests what the steps did not reach.
    void finish() {
        for (; next < end; next += 64) __builtin_prefetch(next, 0, 2);
    }

    static constexpr std::uint32_t kOne = 1u << 16;
};

template <typename T>
constexpr Index packet_size() {
    return Eigen::internal::packet_traits<T>::size;
}

// Returns a packet whose last `count` lanes have every bit set and whose
// other lanes are zero. ANDed with the packet that ends at column d, it keeps
// the last `count` columns, which fill no packet of their own, and zeroes the
// columns already summed. The zeroed values cannot reach the sums, because
// the AND clears their bits whatever they are.
// It is read from a window of a table of zero bytes followed by set bytes,
// in one load. Filling the lanes one by one took a fifth of the time of the
// single-output logits of a 256 x 100 block (perf, block in cache).
template <typename T>
EIGEN_ALWAYS_INLINE PacketOf<T> last_lanes_mask(Index count) {
    using Packet = PacketOf<T>;
    static_assert(sizeof(Packet) <= 64, "masks are read from 64-byte halves");
    alignas(64) static constexpr unsigned char kBytes[128] = {
        0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,
        0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,
        0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,
        0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,
        0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
    constexpr Index P = packet_size<T>();
    // The window ends `count` lanes into the set bytes.
    const Index first = 64 - (P - count) * Index(sizeof(T));
    Packet mask;
    std::memcpy(&mask, kBytes + first, sizeof(Packet));
    return mask;
}

// acc[r][j] += X[r][f..] * W[j][f..] for the packet of columns at f, with
// both packets ANDed with `mask` when Masked.
template <typename T, int R, int J, bool Masked>
EIGEN_ALWAYS_INLINE void logits_step(PacketOf<T> (&acc)[R][J], const T* X, const T* W, Index d,
                                     Index f, const PacketOf<T>& mask) {
    using Packet = PacketOf<T>;
    Packet x[R];
    for (int r = 0; r < R; ++r) {
        x[r] = Eigen::internal::ploadu<Packet>(X + r * d + f);
        if constexpr (Masked) x[r] = Eigen::internal::pand(x[r], mask);
    }
    for (int j = 0; j < J; ++j) {
        Packet w = Eigen::internal::ploadu<Packet>(W + j * d + f);
        if constexpr (Masked) w = Eigen::internal::pand(w, mask);
        for (int r = 0; r < R; ++r) acc[r][j] = Eigen::internal::pmadd(x[r], w, acc[r][j]);
    }
}

// Z[r][j] = dot(X row r, W row j) for R rows and J outputs.
template <typename T, int R, int J>
void logits_tile(const T* X, const T* W, Index d, T* Z, Index ldz, PrefetchCursor& cursor) {
    PrefetchCursor prefetch = cursor;  // a local copy, kept in registers
    using Packet = PacketOf<T>;
    constexpr Index P = packet_size<T>();
    Packet acc[R][J];
    for (int r = 0; r < R; ++r) {
        for (int j = 0; j < J; ++j) acc[r][j] = Eigen::internal::pset1<Packet>(T(0));
    }
    const Index full = d - d % P;
    for (Index f = 0; f < full; f += P) {
        prefetch.step();
        logits_step<T, R, J, false>(acc, X, W, d, f, acc[0][0]);
    }
    // The last d % P columns: one masked packet when the row is at least a
    // packet wide, otherwise column by column.
    const bool masked = full < d && d >= P;
    if (masked) logits_step<T, R, J, true>(acc, X, W, d, d - P, last_lanes_mask<T>(d - full));
    // The accumulators are stored first and reduced from memory: reducing
    // them in place made GCC keep a copy of all of them on the stack, stored
    // at every step of the loop above.
    alignas(64) T sums[R * J][P];
    for (int r = 0; r < R; ++r) {
        for (int j = 0; j < J; ++j) Eigen::internal::pstore(sums[r * J + j], acc[r][j]);
    }
    for (int i = 0; i < R * J; ++i) {
        Z[(i / J) * ldz + i % J] = Eigen::internal::predux(Eigen::internal::pload<Packet>(sums[i]));
    }
    if (!masked) {
        for (int r = 0; r < R; ++r) {
            for (int j = 0; j < J; ++j) {
                for (Index f = full; f < d; ++f) Z[r * ldz + j] += X[r * d + f] * W[j * d + f];
            }
        }
    }
    cursor = prefetch;
}

// GCC warns that a PacketBlock of a vector type drops the type's alignment
// attribute, which PacketBlock does not rely on; Eigen silences the same
// warning inside its own headers.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wignored-attributes"
#endif

// Returns the packet whose lane i is the sum of the lanes of acc.packet[i]:
// a transpose, then P - 1 vertical adds.
template <typename Packet, int P>
Packet sum_each_packet(Eigen::internal::PacketBlock<Packet, P> acc) {
    Eigen::internal::ptranspose(acc);
    Packet total = acc.packet[0];
    for (int i = 1; i < P; ++i) total = Eigen::internal::padd(total, acc.packet[i]);
    return total;
}

#if defined(EIGEN_VECTORIZE_AVX512)
// The same for 16 floats, as a tree that adds while it shuffles. Each level
// halves the number of packets, 30 shuffles and 15 adds in all, where
// Eigen's transpose of 16 packets takes over 100 shuffles.
EIGEN_ALWAYS_INLINE Eigen::internal::Packet16f sum_each_packet(
    const Eigen::internal::PacketBlock<Eigen::internal::Packet16f, 16>& acc) {
    // Level 1: for each pair of packets a and b, the lower 256 bits of the
    // sum are eight partial sums of a and the upper 256 bits eight of b.
    __m512 half[8];
    for (int i = 0; i < 8; ++i) {
        // Inputs are taken in the order that puts the sum of packet i in lane
        // i of the result (see level 4).
        const int a = 2 * i, b = 2 * i + 1;
        const int slot_a = (a % 4) * 4 + a / 4, slot_b = (b % 4) * 4 + b / 4;
        const __m512 x = acc.packet[slot_a], y = acc.packet[slot_b];
        half[i] = _mm512_add_ps(_mm512_shuffle_f32x4(x, y, _MM_SHUFFLE(1, 0, 1, 0)),
                                _mm512_shuffle_f32x4(x, y, _MM_SHUFFLE(3, 2, 3, 2)));
    }
    // Level 2: each 128-bit block is four partial sums of one packet.
    __m512 quarter[4];
    for (int i = 0; i < 4; ++i) {
        const __m512 x = half[2 * i], y = half[2 * i + 1];
        quarter[i] = _mm512_add_ps(_mm512_shuffle_f32x4(x, y, _MM_SHUFFLE(2, 0, 2, 0)),
                                   _mm512_shuffle_f32x4(x, y, _MM_SHUFFLE(3, 1, 3, 1)));
    }
    // Level 3: each block is two partial sums of one packet, then two of
    // another.
    __m512 eighth[2];
    for (int i = 0; i < 2; ++i) {
        const __m512d x = _mm512_castps_pd(quarter[2 * i]), y = _mm512_castps_pd(quarter[2 * i + 1]);
        eighth[i] = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(x, y)),
                                  _mm512_castpd_ps(_mm512_unpackhi_pd(x, y)));
    }
    // Level 4: lane l of block j is the sum of input 4 l + j, which the
    // order of level 1 made packet 4 j + l.
    return _mm512_add_ps(_mm512_shuffle_ps(eighth[0], eighth[1], _MM_SHUFFLE(2, 0, 2, 0)),
                         _mm512_shuffle_ps(eighth[0], eighth[1], _MM_SHUFFLE(3, 1, 3, 1)));
}
#endif

// Logits of P rows for a single output (P = packet size): one accumulator per
// row, then sum_each_packet, so that P sums come out in one packet instead of
// P separate horizontal reductions, which would cost more than the
// multiply-adds of a row of 100 features.
template <typename T>
void single_output_logits(const T* X, const T* w, Index d, T* z, PrefetchCursor& cursor) {
    PrefetchCursor prefetch = cursor;  // a local copy, kept in registers
    using Packet = PacketOf<T>;
    using Eigen::internal::ploadu;
    using Eigen::internal::pmadd;
    constexpr int P = int(packet_size<T>());
    Eigen::internal::PacketBlock<Packet, P> acc;
    for (int r = 0; r < P; ++r) acc.packet[r] = Eigen::internal::pset1<Packet>(T(0));

    const Index full = d - d % P;
    for (Index f = 0; f < full; f += P) {
        prefetch.step();
        const Packet weights = ploadu<Packet>(w + f);
        for (int r = 0; r < P; ++r) {
            acc.packet[r] = pmadd(ploadu<Packet>(X + r * d + f), weights, acc.packet[r]);
        }
    }
    const bool masked = full < d && d >= P;
    if (masked) {
        const Packet mask = last_lanes_mask<T>(d - full);
        const Packet weights = Eigen::internal::pand(ploadu<Packet>(w + d - P), mask);
        for (int r = 0; r < P; ++r) {
            const Packet x = Eigen::internal::pand(ploadu<Packet>(X + r * d + d - P), mask);
            acc.packet[r] = pmadd(x, weights, acc.packet[r]);
        }
    }

    Eigen::internal::pstoreu(z, sum_each_packet(acc));
    if (!masked) {
        for (int r = 0; r < P; ++r) {
            for (Index f = full; f < d; ++f) z[r] += X[r * d + f] * w[f];
        }
    }
    cursor = prefetch;
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

// Outputs per logits tile. Four rows by five outputs keep 20 accumulators,
// four packets of X and one of W in 32 vector registers, and each loaded
// packet feeds four or five multiply-adds. With 16 registers, two outputs.
constexpr int kLogitsTileRows = 4;
constexpr int kLogitsTileOutputs = EIGEN_ARCH_DEFAULT_NUMBER_OF_REGISTERS >= 32 ? 5 : 2;

// Logits of R rows for every output, kLogitsTileOutputs outputs at a time.
template <typename T, int R>
void logits_rows(const T* X, const T* W, Index d, Index k, T* Z, PrefetchCursor& prefetch) {
    constexpr int J = kLogitsTileOutputs;
    Index j = 0;
    for (; j + J <= k; j += J) logits_tile<T, R, J>(X, W + j * d, d, Z + j, k, prefetch);
    switch (k - j) {
        case 4: return logits_tile<T, R, 4>(X, W + j * d, d, Z + j, k, prefetch);
        case 3: return logits_tile<T, R, 3>(X, W + j * d, d, Z + j, k, prefetch);
        case 2: return logits_tile<T, R, 2>(X, W + j * d, d, Z + j, k, prefetch);
        case 1: return logits_tile<T, R, 1>(X, W + j * d, d, Z + j, k, prefetch);
        default: return;
    }
}

// G[j][f..] += sum_r dZ[r][j] * X[r][f..] for J outputs and F packets of
// columns starting at column f0, and with Tail, the last d % P columns of the
// row through one masked packet. The sums over the n rows are accumulated in
// registers, in T, and added to the float64 G at the end.
template <typename T, int J, int F, bool Tail>
void gradient_strip(const T* dZ, Index k, const T* X, Index n, Index d, Index f0, double* G,
                    PrefetchCursor& cursor) {
    PrefetchCursor prefetch = cursor;  // a local copy, kept in registers
    using Packet = PacketOf<T>;
    using Eigen::internal::pmadd;
    using Eigen::internal::ploadu;
    constexpr Index P = packet_size<T>();
    constexpr int Q = F + (Tail ? 1 : 0);  // accumulated packets per output
    // With one output, each accumulator would get one multiply-add per row
    // and wait on the previous one. Two sets of accumulators, for even and
    // odd rows, keep twice as many multiply-adds in flight.
    constexpr int U = J == 1 ? 2 : 1;
    const Index tail = d % P;
    const Packet mask = Tail ? last_lanes_mask<T>(tail) : Eigen::internal::pset1<Packet>(T(0));
    Packet acc[U][J][Q];
    for (int u = 0; u < U; ++u) {
        for (int j = 0; j < J; ++j) {
            for (int q = 0; q < Q; ++q) acc[u][j][q] = Eigen::internal::pset1<Packet>(T(0));
        }
    }
    auto add_row = [&](Index r, Packet(&sum)[J][Q]) {
        Packet x[Q];
        for (int q = 0; q < F; ++q) x[q] = ploadu<Packet>(X + r * d + f0 + q * P);
        if constexpr (Tail) x[F] = Eigen::internal::pand(ploadu<Packet>(X + r * d + d - P), mask);
        for (int j = 0; j < J; ++j) {
            const Packet scale = Eigen::internal::pset1<Packet>(dZ[r * k + j]);
            for (int q = 0; q < Q; ++q) sum[j][q] = pmadd(scale, x[q], sum[j][q]);
        }
    };
    Index r = 0;
    for (; r + U <= n; r += U) {
        prefetch.step();
        for (int u = 0; u < U; ++u) add_row(r + u, acc[u]);
    }
    for (; r < n; ++r) add_row(r, acc[0]);
    cursor = prefetch;
    for (int u = 1; u < U; ++u) {
        for (int j = 0; j < J; ++j) {
            for (int q = 0; q < Q; ++q) acc[0][j][q] = Eigen::internal::padd(acc[0][j][q], acc[u][j][q]);
        }
    }
    // Stored first and added from memory, as in logits_tile, so that the
    // accumulators stay in registers during the loop.
    alignas(64) T sums[J][Q][P];
    for (int j = 0; j < J; ++j) {
        for (int q = 0; q < Q; ++q) Eigen::internal::pstore(sums[j][q], acc[0][j][q]);
    }
    for (int j = 0; j < J; ++j) {
        for (int q = 0; q < F; ++q) {
            double* out = G + j * d + f0 + q * P;
            for (Index i = 0; i < P; ++i) out[i] += double(sums[j][q][i]);
        }
        if constexpr (Tail) {
            double* out = G + j * d + d - P;
            for (Index i = P - tail; i < P; ++i) out[i] += double(sums[j][F][i]);
        }
    }
}

// Packets of columns per gradient strip of J outputs: fewer outputs leave
// registers for wider strips.
constexpr int strip_packets(Index outputs) { return outputs == 1 ? 8 : (outputs <= 4 ? 4 : 2); }

// gradient_strip for a run-time count of 0 to M packets of columns.
template <typename T, int J, int M, bool Tail>
void gradient_strip_up_to(Index packets, const T* dZ, Index k, const T* X, Index n, Index d,
                          Index f0, double* G, PrefetchCursor& prefetch) {
    if constexpr (M > 0 || Tail) {
        if (packets == M) return gradient_strip<T, J, M, Tail>(dZ, k, X, n, d, f0, G, prefetch);
    }
    if constexpr (M > 0) gradient_strip_up_to<T, J, M - 1, Tail>(packets, dZ, k, X, n, d, f0, G, prefetch);
}

// G[j][f] += sum_r dZ[r][j] * X[r][f] for J outputs over all columns: strips
// of F packets, then one narrower strip for the packets and the columns
// left. Rows narrower than a packet are summed column by column.
template <typename T, int J>
void gradient_outputs(const T* dZ, Index k, const T* X, Index n, Index d, double* G,
                      PrefetchCursor& prefetch) {
    constexpr Index P = packet_size<T>();
    constexpr int F = strip_packets(J);
    Index f = 0;
    for (; f + F * P <= d; f += F * P) {
        gradient_strip<T, J, F, false>(dZ, k, X, n, d, f, G, prefetch);
    }
    const Index packets = (d - f) / P;
    if (d < P) {
        for (Index c = 0; c < d; ++c) {
            for (int j = 0; j < J; ++j) {
                T total = 0;
                for (Index r = 0; r < n; ++r) total += dZ[r * k + j] * X[r * d + c];
                G[j * d + c] += double(total);
            }
        }
    } else if (d % P != 0) {
        gradient_strip_up_to<T, J, F - 1, true>(packets, dZ, k, X, n, d, f, G, prefetch);
    } else if (packets > 0) {
        gradient_strip_up_to<T, J, F - 1, false>(packets, dZ, k, X, n, d, f, G, prefetch);
    }
}

// Outputs handled in one sweep over the block. Each output of a sweep keeps
// F = 2 packets of accumulators in registers, and every sweep reads the block
// of X again from the L2 cache, so with 32 vector registers up to 12 outputs
// share one sweep (24 accumulators).
constexpr int kMaxSweepOutputs = EIGEN_ARCH_DEFAULT_NUMBER_OF_REGISTERS >= 32 ? 12 : 6;


#if defined(EIGEN_VECTORIZE_AVX512)
// Rows whose starts all lie the same number of values past a 64-byte
// boundary (the row length fills whole packets) are read with aligned loads
// from that boundary. The first packet of a row then contains `shift` values
// of the row before it and the last packet `P - shift` values of the row
// after, and both are masked. NumPy places large arrays 16 bytes past a
// boundary, so without this every packet of X would span two cache lines:
// on a 80 x 784 block in the L2 cache the unaligned products ran 10% to 15%
// slower.
// Every value is summed in the same order as by the unaligned kernels, so the
// bits do not depend on the shift. A column's gradient is a sum over rows
// whichever lane contains it, and the logits' accumulators contain the same
// sums in rotated lanes, which are turned back before they are reduced.
template <typename T>
struct ShiftedLanes;

template <typename F, int... I>
EIGEN_ALWAYS_INLINE void unrolled_calls(F& f, std::integer_sequence<int, I...>) {
    (f(std::integral_constant<int, I>{}), ...);
}

// Calls f(std::integral_constant<int, i>) for i = 0, ..., N - 1, unrolled,
// so that f can index arrays of registers with constants. Indexed in a loop,
// the accumulators of an edge strip were stored to memory at every row.
template <int N, typename F>
EIGEN_ALWAYS_INLINE void unrolled(F f) {
    unrolled_calls(f, std::make_integer_sequence<int, N>{});
}

template <>
struct ShiftedLanes<float> {
    using Mask = __mmask16;
    static __m512 load(const float* aligned, Mask keep) { return _mm512_maskz_load_ps(keep, aligned); }
    static __m512 madd(__m512 x, __m512 w, __m512 acc, Mask keep) {
        return _mm512_mask3_fmadd_ps(x, w, acc, keep);
    }
    // Lane i of the result is lane (i + shift) mod 16 of v.
    static __m512 rotate(__m512 v, Index shift) {
        const __m512i lanes = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
        const __m512i from = _mm512_and_si512(_mm512_add_epi32(lanes, _mm512_set1_epi32(int(shift))),
                                              _mm512_set1_epi32(15));
        return _mm512_permutexvar_ps(from, v);
    }
    // out[i] += double(v[i]) for the lanes in `keep`; the other values of
    // out are neither read nor written.
    static void add_to(__m512 v, double* out, Mask keep) {
        const __m512d low = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
        const __m512d high = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
        const __mmask8 keep_low = __mmask8(keep & 0xFF), keep_high = __mmask8(keep >> 8);
        _mm512_mask_storeu_pd(out, keep_low, _mm512_add_pd(_mm512_maskz_loadu_pd(keep_low, out), low));
        _mm512_mask_storeu_pd(out + 8, keep_high,
                              _mm512_add_pd(_mm512_maskz_loadu_pd(keep_high, out + 8), high));
    }
};

template <>
struct ShiftedLanes<double> {
    using Mask = __mmask8;
    static __m512d load(const double* aligned, Mask keep) { return _mm512_maskz_load_pd(keep, aligned); }
    static __m512d madd(__m512d x, __m512d w, __m512d acc, Mask keep) {
        return _mm512_mask3_fmadd_pd(x, w, acc, keep);
    }
    static __m512d rotate(__m512d v, Index shift) {
        const __m512i lanes = _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0);
        const __m512i from = _mm512_and_si512(_mm512_add_epi64(lanes, _mm512_set1_epi64(shift)),
                                              _mm512_set1_epi64(7));
        return _mm512_permutexvar_pd(from, v);
    }
    static void add_to(__m512d v, double* out, Mask keep) {
        _mm512_mask_storeu_pd(out, keep, _mm512_add_pd(_mm512_maskz_loadu_pd(keep, out), v));
    }
};

template <typename T>
using LaneMask = typename ShiftedLanes<T>::Mask;

// The lanes at and after `shift` (the row's own values in its first packet)
// and the lanes before it (its values in the last packet).
template <typename T>
LaneMask<T> lanes_from(Index shift) {
    return LaneMask<T>(~((1u << shift) - 1u) & ((1u << packet_size<T>()) - 1u));
}
template <typename T>
LaneMask<T> lanes_before(Index shift) {
    return LaneMask<T>((1u << shift) - 1u);
}

// acc[r][j] += X[r][offset..] * W[j][offset..] for one aligned packet; with
// Masked, only the lanes in `keep` are loaded and summed, and the others keep
// their sums, so that a sum of -0 stays -0 as in the unaligned kernel.
template <typename T, int R, int J, bool Masked>
EIGEN_ALWAYS_INLINE void shifted_logits_step(PacketOf<T> (&acc)[R][J], const T* X, Index ldx, const T* W,
                                             Index ldw, Index offset, LaneMask<T> keep) {
    using Packet = PacketOf<T>;
    using Lanes = ShiftedLanes<T>;
    Packet x[R];
    for (int r = 0; r < R; ++r) {
        x[r] = Masked ? Lanes::load(X + r * ldx + offset, keep)
                      : Eigen::internal::pload<Packet>(X + r * ldx + offset);
    }
    for (int j = 0; j < J; ++j) {
        const Packet w = Masked ? Lanes::load(W + j * ldw + offset, keep)
                                : Eigen::internal::pload<Packet>(W + j * ldw + offset);
        for (int r = 0; r < R; ++r) {
            acc[r][j] = Masked ? Lanes::madd(x[r], w, acc[r][j], keep)
                               : Eigen::internal::pmadd(x[r], w, acc[r][j]);
        }
    }
}

// Z[r][j] = dot(X row r, W row j) for R rows and J outputs, reading `packets`
// aligned packets from X and W, which point `shift` values before the rows'
// starts (W's rows carry the same shift). The first packet is read with the
// lanes from `shift` on and the last with the lanes before it. A single
// packet (shift 0) is read whole.
template <typename T, int R, int J>
void shifted_logits_tile(const T* X, Index ldx, const T* W, Index ldw, Index packets, Index shift,
                         T* Z, Index ldz, PrefetchCursor& cursor) {
    PrefetchCursor prefetch = cursor;  // a local copy, kept in registers
    using Packet = PacketOf<T>;
    constexpr Index P = packet_size<T>();
    const LaneMask<T> first = lanes_from<T>(shift);
    const LaneMask<T> last = shift == 0 ? lanes_from<T>(0) : lanes_before<T>(shift);
    Packet acc[R][J];
    for (int r = 0; r < R; ++r) {
        for (int j = 0; j < J; ++j) acc[r][j] = Eigen::internal::pset1<Packet>(T(0));
    }
    if (packets == 1) {
        shifted_logits_step<T, R, J, true>(acc, X, ldx, W, ldw, 0, LaneMask<T>(first & last));
    } else {
        prefetch.step();
        shifted_logits_step<T, R, J, true>(acc, X, ldx, W, ldw, 0, first);
        for (Index p = 1; p + 1 < packets; ++p) {
            prefetch.step();
            shifted_logits_step<T, R, J, false>(acc, X, ldx, W, ldw, p * P, first);
        }
        shifted_logits_step<T, R, J, true>(acc, X, ldx, W, ldw, (packets - 1) * P, last);
    }
    // The rotated accumulators are stored, then reduced from memory, as in
    // logits_tile.
    alignas(64) T sums[R * J][P];
    unrolled<R * J>([&](auto i) {
        constexpr int r = decltype(i)::value / J, j = decltype(i)::value % J;
        Eigen::internal::pstore(sums[r * J + j], ShiftedLanes<T>::rotate(acc[r][j], shift));
    });
    for (int i = 0; i < R * J; ++i) {
        Z[(i / J) * ldz + i % J] = Eigen::internal::predux(Eigen::internal::pload<Packet>(sums[i]));
    }
    cursor = prefetch;
}

// shifted_logits_tile over every output, kLogitsTileOutputs at a time.
template <typename T, int R>
void shifted_logits_rows(const T* X, Index ldx, const T* W, Index ldw, Index packets, Index shift,
                         Index k, T* Z, PrefetchCursor& prefetch) {
    constexpr int J = kLogitsTileOutputs;
    Index j = 0;
    for (; j + J <= k; j += J) {
        shifted_logits_tile<T, R, J>(X, ldx, W + j * ldw, ldw, packets, shift, Z + j, k, prefetch);
    }
    const T* Wj = W + j * ldw;
    switch (k - j) {
        case 4: return shifted_logits_tile<T, R, 4>(X, ldx, Wj, ldw, packets, shift, Z + j, k, prefetch);
        case 3: return shifted_logits_tile<T, R, 3>(X, ldx, Wj, ldw, packets, shift, Z + j, k, prefetch);
        case 2: return shifted_logits_tile<T, R, 2>(X, ldx, Wj, ldw, packets, shift, Z + j, k, prefetch);
        case 1: return shifted_logits_tile<T, R, 1>(X, ldx, Wj, ldw, packets, shift, Z + j, k, prefetch);
        default: return;
    }
}

// G[j][c] += sum_r dZ[r][j] * X[r][c] for J outputs over the columns held
// by F aligned packets of each row, the first of which starts at X (row 0)
// and contains column `first_column` in lane 0. With Head, the strip's first
// packet is the row's first and keeps the lanes from `shift` on. With Tail,
// its last packet is the row's last and keeps the lanes before `shift`.
template <typename T, int J, int F, bool Head, bool Tail>
void shifted_gradient_strip(const T* dZ, Index k, const T* X, Index n, Index d, Index first_column,
                            Index shift, double* G, PrefetchCursor& cursor) {
    PrefetchCursor prefetch = cursor;  // a local copy, kept in registers
    using Packet = PacketOf<T>;
    using Lanes = ShiftedLanes<T>;
    using Eigen::internal::pmadd;
    constexpr Index P = packet_size<T>();
    const LaneMask<T> first = lanes_from<T>(shift), last = lanes_before<T>(shift);
    Packet acc[J][F];
    for (int j = 0; j < J; ++j) {
        for (int q = 0; q < F; ++q) acc[j][q] = Eigen::internal::pset1<Packet>(T(0));
    }
    for (Index r = 0; r < n; ++r) {
        prefetch.step();
        const T* row = X + r * d;
        Packet x[F];
        for (int q = 0; q < F; ++q) {
            if (Head && q == 0) {
                x[q] = Lanes::load(row, first);
            } else if (Tail && q == F - 1) {
                x[q] = Lanes::load(row + q * P, last);
            } else {
                x[q] = Eigen::internal::pload<Packet>(row + q * P);
            }
        }
        for (int j = 0; j < J; ++j) {
            const Packet scale = Eigen::internal::pset1<Packet>(dZ[r * k + j]);
            for (int q = 0; q < F; ++q) acc[j][q] = pmadd(scale, x[q], acc[j][q]);
        }
    }
    cursor = prefetch;
    // Added to G with masked loads and stores, straight from the registers.
    // Only the edge packets hold lanes outside the row.
    const LaneMask<T> all = lanes_from<T>(0);
    unrolled<J * F>([&](auto i) {
        constexpr int j = decltype(i)::value / F, q = decltype(i)::value % F;
        const LaneMask<T> keep = (Head && q == 0) ? first : (Tail && q == F - 1) ? last : all;
        Lanes::add_to(acc[j][q], G + j * d + first_column + q * P, keep);
    });
}

// shifted_gradient_strip for a run-time count of 1 to M packets.
template <typename T, int J, int M, bool Head, bool Tail>
void shifted_gradient_strip_up_to(Index packets, const T* dZ, Index k, const T* X, Index n, Index d,
                                  Index first_column, Index shift, double* G, PrefetchCursor& prefetch) {
    if (packets == M) {
        return shifted_gradient_strip<T, J, M, Head, Tail>(dZ, k, X, n, d, first_column, shift, G, prefetch);
    }
    if constexpr (M > (Head && Tail ? 2 : 1)) {
        shifted_gradient_strip_up_to<T, J, M - 1, Head, Tail>(packets, dZ, k, X, n, d, first_column, shift,
                                                              G, prefetch);
    }
}

// The gradient of J outputs over rows that start `shift` values (1 or more)
// past a 64-byte boundary and fill whole packets: d / P + 1 aligned packets
// a row, in strips of F.
template <typename T, int J>
void shifted_gradient_outputs(const T* dZ, Index k, const T* X, Index n, Index d, Index shift,
                              double* G, PrefetchCursor& prefetch) {
    constexpr Index P = packet_size<T>();
    constexpr int F = strip_packets(J);
    const T* start = X - shift;
    const Index packets = d / P + 1;
    if (packets <= F) {
        return shifted_gradient_strip_up_to<T, J, F, true, true>(packets, dZ, k, start, n, d, -shift, shift,
                                                                 G, prefetch);
    }
    shifted_gradient_strip<T, J, F, true, false>(dZ, k, start, n, d, -shift, shift, G, prefetch);
    Index p = F;
    for (; packets - p > F; p += F) {
        shifted_gradient_strip<T, J, F, false, false>(dZ, k, start + p * P, n, d, p * P - shift, shift, G,
                                                      prefetch);
    }
    shifted_gradient_strip_up_to<T, J, F, false, true>(packets - p, dZ, k, start + p * P, n, d,
                                                       p * P - shift, shift, G, prefetch);
}
#endif

// The gradient of J outputs, through the aligned kernels when the rows
// start `shift` values past a 64-byte boundary (J >= 2: a single output
// keeps two sets of accumulators, which only the unaligned kernel has).
template <typename T, int J>
void gradient_columns(const T* dZ, Index k, const T* X, Index n, Index d, Index shift, double* G,
                      PrefetchCursor& prefetch) {
#if defined(EIGEN_VECTORIZE_AVX512)
    if constexpr (J >= 2) {
        if (shift > 0) return shifted_gradient_outputs<T, J>(dZ, k, X, n, d, shift, G, prefetch);
    }
#endif
    (void)shift;
    gradient_outputs<T, J>(dZ, k, X, n, d, G, prefetch);
}

// gradient_columns for a run-time count of 1 to kMaxSweepOutputs outputs.
template <typename T>
void gradient_sweep(const T* dZ, Index k, const T* X, Index n, Index d, Index shift, double* G,
                    Index outputs, PrefetchCursor& prefetch) {
    switch (outputs) {
        case 1: return gradient_columns<T, 1>(dZ, k, X, n, d, shift, G, prefetch);
        case 2: return gradient_columns<T, 2>(dZ, k, X, n, d, shift, G, prefetch);
        case 3: return gradient_columns<T, 3>(dZ, k, X, n, d, shift, G, prefetch);
        case 4: return gradient_columns<T, 4>(dZ, k, X, n, d, shift, G, prefetch);
        case 5: return gradient_columns<T, 5>(dZ, k, X, n, d, shift, G, prefetch);
        case 6: return gradient_columns<T, 6>(dZ, k, X, n, d, shift, G, prefetch);
        default: break;
    }
    if constexpr (kMaxSweepOutputs > 6) {
        switch (outputs) {
            case 7: return gradient_columns<T, 7>(dZ, k, X, n, d, shift, G, prefetch);
            case 8: return gradient_columns<T, 8>(dZ, k, X, n, d, shift, G, prefetch);
            case 9: return gradient_columns<T, 9>(dZ, k, X, n, d, shift, G, prefetch);
            case 10: return gradient_columns<T, 10>(dZ, k, X, n, d, shift, G, prefetch);
            case 11: return gradient_columns<T, 11>(dZ, k, X, n, d, shift, G, prefetch);
            case 12: return gradient_columns<T, 12>(dZ, k, X, n, d, shift, G, prefetch);
            default: break;
        }
    }
}

}  // namespace detail

// Values between X and the 64-byte boundary before it, when the aligned
// kernels can read rows of d values from X: every row then starts the same
// number of values past a boundary. 0 where they cannot (no AVX-512, or
// rows that do not fill whole packets), which selects the unaligned kernels.
template <typename T>
Index row_shift(const T* X, Index d) {
#if defined(EIGEN_VECTORIZE_AVX512)
    const auto address = reinterpret_cast<std::uintptr_t>(X);
    if (d % detail::packet_size<T>() != 0 || address % sizeof(T) != 0) return 0;
    return Index(address % 64 / sizeof(T));
#else
    (void)X;
    (void)d;
    return 0;
#endif
}

// The weights copied so that each row starts `shift` values past a 64-byte
// boundary, as the rows of X do, for the aligned logits kernels. Row j
// starts at rows + j * stride.
template <typename T>
struct ShiftedWeights {
    const T* rows = nullptr;
    Index stride = 0;
    Index shift = 0;
};

// Copies the k x d row-major weights W into `buffer` with the rows of X's
// shift, or returns an empty ShiftedWeights when the aligned kernels do not
// apply (shift 0, or a single output).
template <typename T>
ShiftedWeights<T> shift_weights(const T* W, Index k, Index d, const T* X, Vector<T>& buffer) {
    ShiftedWeights<T> shifted;
    const Index shift = row_shift(X, d);
    if (shift == 0 || k < 2) return shifted;
    shifted.stride = d + detail::packet_size<T>();
    shifted.shift = shift;
    if (buffer.size() < k * shifted.stride) buffer.resize(k * shifted.stride);
    T* rows = buffer.data() + shift;
    for (Index j = 0; j < k; ++j) std::copy(W + j * d, W + (j + 1) * d, rows + j * shifted.stride);
    shifted.rows = rows;
    return shifted;
}

// Prefetch steps that block_logits and block_gradient take for a block of n
// rows: one per packet of a logits tile, one per row of a gradient strip.
template <typename T>
Index block_prefetch_steps(Index n, Index d, Index k) {
    constexpr Index P = detail::packet_size<T>();
    const Index tiles = (k + detail::kLogitsTileOutputs - 1) / detail::kLogitsTileOutputs;
    const Index sweeps = (k + detail::kMaxSweepOutputs - 1) / detail::kMaxSweepOutputs;
    const Index width = detail::strip_packets(k / sweeps) * P;
    const Index strips = std::max<Index>(d / width, 1);
    const Index logits_rows = k == 1 ? P : detail::kLogitsTileRows;
    const Index gradient_rows = k == 1 ? (n + 1) / 2 : n;  // a step per pair of rows
    return tiles * (d / P) * ((n + logits_rows - 1) / logits_rows) + sweeps * strips * gradient_rows;
}

// A cursor that requests `count` values of T from `first` over a block of n
// rows of X against k outputs.
template <typename T>
detail::PrefetchCursor block_prefetch(const T* first, Index count, Index n, Index d, Index k) {
    detail::PrefetchCursor cursor;
    if (first == nullptr || count <= 0) return cursor;
    cursor.next = reinterpret_cast<const char*>(first);
    cursor.end = reinterpret_cast<const char*>(first + count);
    const Index lines = (count * Index(sizeof(T)) + 63) / 64;
    const Index steps = std::max<Index>(block_prefetch_steps<T>(n, d, k), 1);
    // Rounded up, so that the steps reach the end of the next block, and
    // capped at 64 lines a step.
    const Index rate = (lines * Index(detail::PrefetchCursor::kOne) + steps - 1) / steps;
    cursor.rate = std::uint32_t(std::min<Index>(rate, 64 * Index(detail::PrefetchCursor::kOne)));
    return cursor;
}

// Writes Z = X W^T + b for the n x d row-major block X, the k x d row-major
// weights W and the k intercepts b; Z is row-major n x k.
// `shifted` is W as shift_weights copied it for X, or empty.
template <typename T>
void block_logits(const T* X, Index n, Index d, const T* W, const T* b, Index k, T* Z,
                  detail::PrefetchCursor& prefetch, const ShiftedWeights<T>& shifted = {}) {
    constexpr Index R = detail::kLogitsTileRows;
    Index r = 0;
#if defined(EIGEN_VECTORIZE_AVX512)
    const Index shift = shifted.rows != nullptr ? row_shift(X, d) : 0;
    if (shift > 0 && shift == shifted.shift) {
        const Index packets = d / detail::packet_size<T>() + 1;
        const T* Xs = X - shift;
        const T* Ws = shifted.rows - shift;
        for (; r + R <= n; r += R) {
            detail::shifted_logits_rows<T, R>(Xs + r * d, d, Ws, shifted.stride, packets, shift, k,
                                              Z + r * k, prefetch);
        }
        for (; r < n; ++r) {
            detail::shifted_logits_rows<T, 1>(Xs + r * d, d, Ws, shifted.stride, packets, shift, k,
                                              Z + r * k, prefetch);
        }
    }
#endif
    if (k == 1) {
        constexpr Index P = detail::packet_size<T>();
        for (; r + P <= n; r += P) detail::single_output_logits(X + r * d, W, d, Z + r, prefetch);
    }
    for (; r + R <= n; r += R) detail::logits_rows<T, R>(X + r * d, W, d, k, Z + r * k, prefetch);
    for (; r < n; ++r) detail::logits_rows<T, 1>(X + r * d, W, d, k, Z + r * k, prefetch);
    for (Index i = 0; i < n; ++i) {
        for (Index j = 0; j < k; ++j) Z[i * k + j] += b[j];
    }
}

// Adds dZ^T X to G: dZ is row-major n x k, X row-major n x d, G row-major
// k x d in float64. Each value of dZ^T X is summed over the n rows in T,
// then added to G. Ends by requesting whatever `prefetch` has left.
template <typename T>
void block_gradient(const T* dZ, Index n, Index k, const T* X, Index d, double* G,
                    detail::PrefetchCursor& prefetch) {
    // Sweeps of kMaxSweepOutputs outputs, the rest split evenly, so that 14
    // outputs become two sweeps of 7 rather than 12 and 2.
    const Index sweeps = (k + detail::kMaxSweepOutputs - 1) / detail::kMaxSweepOutputs;
    const Index shift = row_shift(X, d);
    Index j = 0;
    for (Index sweep = 0; sweep < sweeps; ++sweep) {
        const Index outputs = (k - j) / (sweeps - sweep);
        detail::gradient_sweep(dZ + j, k, X, n, d, shift, G + j * d, outputs, prefetch);
        j += outputs;
    }
    prefetch.finish();
}

}  // namespace fastml
