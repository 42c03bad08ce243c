// SpinningMutex: the lock of the engine's and the memory store's short
// critical sections. It tries for a moment before putting the thread to
// sleep, because those sections last well under a microsecond while
// sleeping and being woken costs a futex round trip through the kernel
// (several microseconds on a virtual machine). Not recursive; meets the
// standard Lockable requirements (use with std::lock_guard).
#ifndef LOYALTY_SRC_CORE_SPINNING_MUTEX_H_
#define LOYALTY_SRC_CORE_SPINNING_MUTEX_H_

#include <mutex>

namespace loyalty {

class SpinningMutex {
 public:
  void lock() {
    for (int attempt = 0; attempt < kSpins; ++attempt) {
      if (mutex_.try_lock()) return;
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    }
    mutex_.lock();
  }
  bool try_lock() { return mutex_.try_lock(); }
  void unlock() { mutex_.unlock(); }

 private:
  static constexpr int kSpins = 200;
  std::mutex mutex_;
};

}  // namespace loyalty

#endif  // LOYALTY_SRC_CORE_SPINNING_MUTEX_H_
