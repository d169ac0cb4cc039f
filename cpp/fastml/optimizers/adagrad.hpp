// AdaGrad (Duchi, Hazan and Singer, "Adaptive Subgradient Methods for Online
// Learning and Stochastic Optimization", JMLR 2011), in the form of
// torch.optim.Adagrad (PyTorch 2.13 documentation, lr_decay 0):
//   s <- s + g^2,  s starting at initial_accumulator_value
//   w <- w - lr * g / (sqrt(s) + epsilon)
// Epsilon is added after the square root, as in PyTorch (default 1e-10). Decay
// of the learning rate comes from the schedule, not from a rule parameter.
// NOTE: g^2 overflows to infinity for |g| above about 1.8e19 in float32 and
// 1.3e154 in float64. The accumulator then stays infinite and every later step
// of those parameters is 0: training stalls there, but it never turns NaN.
#pragma once

#include "optimizer.hpp"

namespace fastml {

template <typename T>
class AdaGrad final : public Optimizer<T> {
public:
    AdaGrad(double epsilon, double initial_accumulator_value)
        : epsilon_(epsilon), initial_accumulator_value_(initial_accumulator_value) {
        check_positive("AdaGrad", "epsilon", epsilon);
        check_non_negative("AdaGrad", "initial_accumulator_value", initial_accumulator_value);
    }

    void reset(Index n_params, Index) override {
        sum_of_squares_ = ArrayX<T>::Constant(n_params, T(initial_accumulator_value_));
    }

    void update_range(Index, Index begin, Index end, T* params, const T* grad,
                      double learning_rate) override {
        using Packet = typename packet::packet_traits<T>::type;
        using namespace Eigen::internal;
        const Packet rate = pset1<Packet>(T(learning_rate)), epsilon = pset1<Packet>(T(epsilon_));
        packet::for_each_packet<T>(
            end - begin,
            [&](T* w, const T* g, T* s) {
                const Packet gp = ploadu<Packet>(g);
                const Packet sp = padd(ploadu<Packet>(s), pmul(gp, gp));
                const Packet step = pdiv(pmul(rate, gp), padd(packet::exact_sqrt(sp), epsilon));
                pstoreu(s, sp);
                pstoreu(w, psub(ploadu<Packet>(w), step));
            },
            params + begin, grad + begin, sum_of_squares_.data() + begin);
    }

    const ArrayX<T>& sum_of_squares() const { return sum_of_squares_; }

private:
    double epsilon_, initial_accumulator_value_;
    ArrayX<T> sum_of_squares_;
};

}  // namespace fastml
