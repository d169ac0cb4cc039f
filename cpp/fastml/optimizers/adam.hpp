// Adam (Kingma and Ba, "Adam: A Method for Stochastic Optimization", ICLR
// 2015, Algorithm 1):
//   m <- beta1 * m + (1 - beta1) * g
//   v <- beta2 * v + (1 - beta2) * g^2
//   w <- w - lr * m_hat / (sqrt(v_hat) + epsilon),
//   m_hat = m / (1 - beta1^t),  v_hat = v / (1 - beta2^t).
// Epsilon is added after the square root of the bias-corrected second moment,
// as in the paper's algorithm and in torch.optim.Adam. The variant that folds
// both corrections into the learning rate adds epsilon to the uncorrected
// sqrt(v), which is sqrt(1 - beta2^t) times smaller in early steps: with a
// first gradient of 1e-8 it steps about 3.1e-5 instead of 5e-4 (lr 1e-3).
//
// sqrt(v_hat) is computed as sqrt(v) / sqrt(1 - beta2^t), as PyTorch does, so
// v itself is never scaled up towards overflow. A gradient whose square
// overflows (|g| above about 1.8e19 in float32, 1.3e154 in float64) makes v
// infinite; m / inf is then a zero step rather than NaN. m stays finite,
// because it is a weighted mean of finite gradients (tested up to the largest
// finite value in both precisions).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "optimizer.hpp"

namespace fastml {

template <typename T>
class Adam final : public Optimizer<T> {
public:
    // `owner` prefixes the error messages, so that AdamW, which reuses this
    // class for its gradient step, reports its own name.
    Adam(double beta1, double beta2, double epsilon, const char* owner = "Adam")
        : beta1_(beta1), beta2_(beta2), epsilon_(epsilon) {
        check_half_open(owner, "beta1", beta1, 0.0, 1.0);
        check_half_open(owner, "beta2", beta2, 0.0, 1.0);
        check_positive(owner, "epsilon", epsilon);
    }

    void reset(Index n_params, Index n_segments) override {
        first_moment_ = ArrayX<T>::Zero(n_params);
        second_moment_ = ArrayX<T>::Zero(n_params);
        steps_.assign(n_segments, 0);
    }

    // Each segment counts its own steps, so a segment that was frozen for a
    // while gets the bias correction matching its own moment estimates.
    void start_step(Index segment) override { ++steps_[segment]; }

    void update_range(Index segment, Index begin, Index end, T* params, const T* grad,
                      double learning_rate) override {
        const double t = double(steps_[segment]);
        const T step_size = T(learning_rate / (1.0 - std::pow(beta1_, t)));
        const T sqrt_correction2 = T(std::sqrt(1.0 - std::pow(beta2_, t)));

        // 1 - beta is formed in double: in float32, 1 - 0.999f is off by 1e-5
        // relative, which would show in every early step.
        const Coefficients c{T(beta1_), T(1.0 - beta1_), T(beta2_), T(1.0 - beta2_),
                             step_size, sqrt_correction2, T(epsilon_)};
        using Packet = typename packet::packet_traits<T>::type;
        packet::for_each_packet<T>(
            end - begin,
            [&c](T* w, const T* g, T* m, T* v) { update_packet<Packet>(c, w, g, m, v); },
            params + begin, grad + begin, first_moment_.data() + begin,
            second_moment_.data() + begin);
    }

    const ArrayX<T>& first_moment() const { return first_moment_; }
    const ArrayX<T>& second_moment() const { return second_moment_; }
    std::int64_t steps(Index segment) const { return steps_[segment]; }

private:
    struct Coefficients {
        T beta1, one_minus_beta1, beta2, one_minus_beta2, step_size, sqrt_correction2, epsilon;
    };

    // Updates one packet of parameters and moments in place, so that one
    // pass reads each array once.
    template <typename Packet>
    static void update_packet(const Coefficients& c, T* w, const T* g, T* m, T* v) {
        using namespace Eigen::internal;
        const Packet gp = ploadu<Packet>(g);
        const Packet mp = padd(pmul(pset1<Packet>(c.beta1), ploadu<Packet>(m)),
                               pmul(pset1<Packet>(c.one_minus_beta1), gp));
        const Packet vp = padd(pmul(pset1<Packet>(c.beta2), ploadu<Packet>(v)),
                               pmul(pset1<Packet>(c.one_minus_beta2), pmul(gp, gp)));
        const Packet root = pdiv(packet::exact_sqrt(vp), pset1<Packet>(c.sqrt_correction2));
        const Packet denominator = padd(root, pset1<Packet>(c.epsilon));
        const Packet stepped =
            psub(ploadu<Packet>(w), pmul(pset1<Packet>(c.step_size), pdiv(mp, denominator)));
        pstoreu(m, mp);
        pstoreu(v, vp);
        pstoreu(w, stepped);
    }

    double beta1_, beta2_, epsilon_;
    ArrayX<T> first_moment_, second_moment_;
    std::vector<std::int64_t> steps_;
};

}  // namespace fastml
