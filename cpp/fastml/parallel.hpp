// Work sharing for the training steps: parallel_for over a fixed list of
// items, on the calling thread and a process-wide pool of workers.
//
// Why not an OpenMP parallel region: a region ends at a barrier that waits
// for every thread of the team. Another process, or the spinning threads of
// a BLAS library used a moment earlier, can keep one of the cores busy. The
// team thread on that core then runs only when the scheduler gives it a time
// slice, and each step of a mini-batch loop waits for it. On a
// 2-core machine a 34 ms epoch took about 150 ms after a NumPy product that
// way. Here the caller claims items as the workers do and waits only for
// items a worker has already claimed, never for a worker that has not
// started. A worker that comes late finds no item left and goes back to
// waiting.
//
// Items are claimed one at a time, so which thread computes an item varies
// from run to run; callers make every item's result independent of that
// (each item writes its own partial sum, added later in item order).
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#ifdef _WIN32
#include <process.h>
#define FASTML_GETPID _getpid
#else
#include <unistd.h>
#define FASTML_GETPID ::getpid
#endif

#include "common.hpp"

namespace fastml {

namespace detail {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#else
    std::this_thread::yield();
#endif
}

class WorkerPool {
public:
    // The pool of this process. A child made by fork() has none of its
    // parent's threads, so it starts a pool of its own.
    static WorkerPool& instance() {
        static std::atomic<WorkerPool*> pool{nullptr};
        static std::mutex creation;
        WorkerPool* current = pool.load(std::memory_order_acquire);
        if (current != nullptr && current->pid_ == FASTML_GETPID()) return *current;
        std::lock_guard<std::mutex> lock(creation);
        current = pool.load(std::memory_order_relaxed);
        if (current == nullptr || current->pid_ != FASTML_GETPID()) {
            // Never destroyed, because its workers sleep until the process exits.
            current = new WorkerPool();
            pool.store(current, std::memory_order_release);
        }
        return *current;
    }

    // Runs invoke(context, i, slot) for every i in [0, n) on the caller
    // (slot 0) and up to `threads` - 1 workers (slots 1 to threads - 1);
    // returns once every item is done.
    void run(Index n, int threads, void (*invoke)(const void*, Index, int), const void* context) {
        std::unique_lock<std::mutex> busy(submit_, std::try_to_lock);
        if (threads <= 1 || n <= 1 || !busy.owns_lock()) {
            // With one thread, or while another caller uses the pool, the
            // items run here.
            for (Index i = 0; i < n; ++i) invoke(context, i, 0);
            return;
        }
        const int helpers = std::min<int>(threads - 1, int(std::min<Index>(n - 1, kMaxWorkers)));
        start_workers(helpers);

        invoke_.store(invoke, std::memory_order_relaxed);
        context_.store(context, std::memory_order_relaxed);
        n_items_.store(n, std::memory_order_relaxed);
        helpers_.store(helpers, std::memory_order_relaxed);
        finished_.store(0, std::memory_order_relaxed);
        const std::uint64_t generation = (state_.load(std::memory_order_relaxed) >> 32) + 1;
        state_.store(generation << 32, std::memory_order_seq_cst);
        if (sleeping_.load(std::memory_order_seq_cst) > 0) {
            std::lock_guard<std::mutex> lock(wake_mutex_);
            wake_.notify_all();
        }

        Index done_here = 0;
        Index item;
        while (claim(generation, n, item)) {
            invoke(context, item, 0);
            ++done_here;
        }
        finished_.fetch_add(done_here, std::memory_order_acq_rel);
        for (int spins = 0; finished_.load(std::memory_order_acquire) < n; ++spins) {
            if (spins < 4096) {
                cpu_relax();
            } else {
                std::this_thread::yield();
            }
        }
    }

private:
    static constexpr int kMaxWorkers = 255;
    // Pause loops a worker spins for new work before it sleeps. That is an
    // estimated 0.1 to 0.5 ms, longer than the gap between two steps of a
    // training loop and far shorter than a pause of the program.
    static constexpr int kSpinsBeforeSleep = 4000;

    WorkerPool() : pid_(FASTML_GETPID()) {}

    void start_workers(int count) {
        while (int(workers_started_) < count) {
            const int id = int(workers_started_++);
            std::thread([this, id] { work(id); }).detach();
        }
    }

    // Claims the next item of job `generation`. Returns false once the job
    // has none left or a newer job has replaced it.
    bool claim(std::uint64_t generation, Index n, Index& item) {
        std::uint64_t state = state_.load(std::memory_order_acquire);
        while (true) {
            if ((state >> 32) != generation) return false;
            const Index next = Index(state & 0xffffffffu);
            if (next >= n) return false;
            if (state_.compare_exchange_weak(state, state + 1, std::memory_order_acq_rel,
                                             std::memory_order_acquire)) {
                item = next;
                return true;
            }
        }
    }

    void work(int id) {
        std::uint64_t seen = state_.load(std::memory_order_acquire) >> 32;
        while (true) {
            std::uint64_t generation = wait_for_job(seen);
            seen = generation;
            if (id >= helpers_.load(std::memory_order_relaxed)) continue;
            // These were stored before the job's state, so a successful claim
            // below proves that they still describe this job.
            const auto invoke = invoke_.load(std::memory_order_relaxed);
            const void* context = context_.load(std::memory_order_relaxed);
            const Index n = n_items_.load(std::memory_order_relaxed);
            Index done_here = 0;
            Index item;
            while (claim(generation, n, item)) {
                invoke(context, item, id + 1);
                ++done_here;
            }
            if (done_here > 0) finished_.fetch_add(done_here, std::memory_order_acq_rel);
        }
    }

    // Returns the generation of the first job newer than `seen`.
    std::uint64_t wait_for_job(std::uint64_t seen) {
        for (int spins = 0; spins < kSpinsBeforeSleep; ++spins) {
            const std::uint64_t generation = state_.load(std::memory_order_acquire) >> 32;
            if (generation != seen) return generation;
            cpu_relax();
        }
        std::unique_lock<std::mutex> lock(wake_mutex_);
        sleeping_.fetch_add(1, std::memory_order_seq_cst);
        std::uint64_t generation;
        wake_.wait(lock, [&] {
            generation = state_.load(std::memory_order_seq_cst) >> 32;
            return generation != seen;
        });
        sleeping_.fetch_sub(1, std::memory_order_seq_cst);
        return generation;
    }

    const long pid_;  // the process that started the workers
    std::mutex submit_;  // taken by the caller of the current job
    std::atomic<int> workers_started_{0};
    // Generation of the current job in the high 32 bits, next unclaimed
    // item in the low 32 bits.
    std::atomic<std::uint64_t> state_{0};
    std::atomic<void (*)(const void*, Index, int)> invoke_{nullptr};
    std::atomic<const void*> context_{nullptr};
    std::atomic<Index> n_items_{0};
    std::atomic<int> helpers_{0};
    std::atomic<Index> finished_{0};
    std::atomic<int> sleeping_{0};
    std::mutex wake_mutex_;
    std::condition_variable wake_;
};

}  // namespace detail

// Runs body(i, slot) for every i in [0, n) on up to `threads` threads, the
// caller included, and returns when all are done. `slot`, in [0, threads),
// names the thread, so that concurrent items can use separate buffers.
// `body` must not throw, and its result for an item must not depend on the
// thread that runs it. n must be below 2^32.
template <typename Body>
void parallel_for(Index n, int threads, const Body& body) {
    if (n <= 0) return;
    if (threads <= 1 || n == 1) {
        for (Index i = 0; i < n; ++i) body(i, 0);
        return;
    }
    detail::WorkerPool::instance().run(
        n, threads,
        [](const void* context, Index i, int slot) { (*static_cast<const Body*>(context))(i, slot); },
        &body);
}

}  // namespace fastml
