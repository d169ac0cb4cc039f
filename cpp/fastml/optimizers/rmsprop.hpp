// RMSprop (Tieleman and Hinton, Coursera "Neural Networks for Machine
// Learning", lecture 6.5, 2012), in the form of torch.optim.RMSprop (PyTorch
// 2.13 documentation, not centered, no momentum):
//   v <- rho * v + (1 - rho) * g^2,  v starting at 0
//   w <- w - lr * g / (sqrt(v) + epsilon)
// PyTorch calls rho `alpha`; fastml uses rho because `alpha` is the penalty
// strength. Epsilon is added after the square root, as in PyTorch, while
// TensorFlow adds it inside. The two differ only while v is near epsilon^2.
// NOTE: g^2 overflows to infinity for |g| above about 1.8e19 in float32 and
// 1.3e154 in float64. v then stays infinite, so every later step of those
// parameters is 0: training stalls there, but it never turns NaN.
#pragma once

#include "optimizer.hpp"

namespace fastml {

template <typename T>
class RMSprop final : public Optimizer<T> {
public:
    RMSprop(double rho, double epsilon) : rho_(rho), epsilon_(epsilon) {
        check_half_open("RMSprop", "rho", rho, 0.0, 1.0);
        check_positive("RMSprop", "epsilon", epsilon);
    }

    void reset(Index n_params, Index) override { mean_square_ = ArrayX<T>::Zero(n_params); }

    void update_range(Index, Index begin, Index end, T* params, const T* grad,
                      double learning_rate) override {
        using Packet = typename packet::packet_traits<T>::type;
        using namespace Eigen::internal;
        const Packet rho = pset1<Packet>(T(rho_)), one_minus_rho = pset1<Packet>(T(1.0 - rho_));
        const Packet rate = pset1<Packet>(T(learning_rate)), epsilon = pset1<Packet>(T(epsilon_));
        packet::for_each_packet<T>(
            end - begin,
            [&](T* w, const T* g, T* v) {
                const Packet gp = ploadu<Packet>(g);
                const Packet vp =
                    padd(pmul(rho, ploadu<Packet>(v)), pmul(one_minus_rho, pmul(gp, gp)));
                const Packet step = pdiv(pmul(rate, gp), padd(packet::exact_sqrt(vp), epsilon));
                pstoreu(v, vp);
                pstoreu(w, psub(ploadu<Packet>(w), step));
            },
            params + begin, grad + begin, mean_square_.data() + begin);
    }

    const ArrayX<T>& mean_square() const { return mean_square_; }

private:
    double rho_, epsilon_;
    ArrayX<T> mean_square_;
};

}  // namespace fastml
