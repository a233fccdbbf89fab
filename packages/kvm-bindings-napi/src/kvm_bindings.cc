// kvm-bindings-napi: a thin Node-API layer over Linux /dev/kvm.
//
// Deliberately policy-free. JavaScript decides which ioctls to issue and lays
// out their structures (src/kvm/abi.ts in microvm-ts); this file only does what
// JavaScript cannot:
//   - open/close file descriptors and issue ioctl(2) with an integer or a
//     buffer argument (the buffer must be at least _IOC_SIZE(request) bytes,
//     and only KVM ioctls, type KVMIO, are accepted);
//   - KVM_SET_USER_MEMORY_REGION with the host address of an ArrayBuffer or
//     SharedArrayBuffer view (guest RAM), keeping that buffer alive;
//   - mmap a vCPU's `struct kvm_run` and expose it as an ArrayBuffer;
//   - one native thread per vCPU looping on KVM_RUN, handing each exit to the
//     JavaScript main thread and waiting until JavaScript resumes it, and a
//     kick (immediate_exit + a signal) to stop it (Documentation/virt/kvm/api.rst,
//     "KVM_RUN" and "immediate_exit").

#include <napi.h>
#include <uv.h>

#include "kvm_abi.h"

#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstddef>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

namespace {

// Events a vCPU thread posts to JavaScript (mirrored in index.d.ts).
constexpr int kEventExit = 1;    // kvm_run holds an exit; the thread waits for resume()
constexpr int kEventPaused = 2;  // stopped by requestPause(); the thread waits for resume()
constexpr int kEventError = 3;   // KVM_RUN failed with errno; the thread waits for resume()

Napi::Error ErrnoError(Napi::Env env, int err, const std::string& what) {
  Napi::Error e = Napi::Error::New(env, what + ": " + std::strerror(err));
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("code", Napi::String::New(env, uv_err_name(-err)));
  e.Set("syscall", Napi::String::New(env, what));
  return e;
}

int ArgInt(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (info.Length() <= i || !info[i].IsNumber()) {
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a number");
  }
  return info[i].As<Napi::Number>().Int32Value();
}

uint32_t ArgU32(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (info.Length() <= i || !info[i].IsNumber()) {
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a number");
  }
  double d = info[i].As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d <= 4294967295.0) || d != static_cast<double>(static_cast<uint32_t>(d))) {
    throw Napi::RangeError::New(info.Env(), std::string(name) + " must be a u32");
  }
  return static_cast<uint32_t>(d);
}

// The bytes of a TypedArray/DataView/ArrayBuffer/SharedArrayBuffer argument.
std::pair<uint8_t*, size_t> ArgBytes(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (info.Length() > i) {
    napi_env env = info.Env();
    napi_value v = info[i];
    bool is = false;
    if (napi_is_typedarray(env, v, &is) == napi_ok && is) {
      napi_typedarray_type type;
      size_t length = 0;
      void* data = nullptr;
      napi_value ab;
      size_t offset = 0;
      NAPI_THROW_IF_FAILED(env, napi_get_typedarray_info(env, v, &type, &length, &data, &ab, &offset),
                           std::make_pair(nullptr, size_t{0}));
      size_t elem = 1;
      switch (type) {
        case napi_int16_array: case napi_uint16_array: elem = 2; break;
        case napi_int32_array: case napi_uint32_array: case napi_float32_array: elem = 4; break;
        case napi_float64_array: case napi_bigint64_array: case napi_biguint64_array: elem = 8; break;
        default: elem = 1; break;
      }
      return {static_cast<uint8_t*>(data), length * elem};
    }
    if (napi_is_dataview(env, v, &is) == napi_ok && is) {
      size_t length = 0;
      void* data = nullptr;
      napi_value ab;
      size_t offset = 0;
      NAPI_THROW_IF_FAILED(env, napi_get_dataview_info(env, v, &length, &data, &ab, &offset),
                           std::make_pair(nullptr, size_t{0}));
      return {static_cast<uint8_t*>(data), length};
    }
  }
  throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a TypedArray or DataView");
}

// ---- file descriptors and ioctls -------------------------------------------

Napi::Value Open(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(info.Env(), "path must be a string");
  std::string path = info[0].As<Napi::String>();
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) throw ErrnoError(info.Env(), errno, "open " + path);
  return Napi::Number::New(info.Env(), fd);
}

// Memory slots keep their buffers alive: key (vm fd, slot) -> reference.
std::map<std::pair<int, uint32_t>, Napi::Reference<Napi::Value>>& SlotRefs() {
  static std::map<std::pair<int, uint32_t>, Napi::Reference<Napi::Value>> refs;
  return refs;
}

Napi::Value Close(const Napi::CallbackInfo& info) {
  int fd = ArgInt(info, 0, "fd");
  auto& refs = SlotRefs();
  for (auto it = refs.begin(); it != refs.end();) {
    if (it->first.first == fd) it = refs.erase(it); else ++it;
  }
  if (::close(fd) < 0) throw ErrnoError(info.Env(), errno, "close");
  return info.Env().Undefined();
}

// ioctl(fd, request, integer argument) -> non-negative result.
Napi::Value IoctlInt(const Napi::CallbackInfo& info) {
  int fd = ArgInt(info, 0, "fd");
  uint32_t req = ArgU32(info, 1, "request");
  if (_IOC_TYPE(req) != KVMIO) throw Napi::RangeError::New(info.Env(), "not a KVM ioctl");
  // An ioctl that takes a pointer must go through ioctlBuffer.
  if (_IOC_DIR(req) != _IOC_NONE) throw Napi::RangeError::New(info.Env(), "ioctl takes a buffer");
  unsigned long arg = 0;
  if (info.Length() > 2 && info[2].IsNumber()) {
    double d = info[2].As<Napi::Number>().DoubleValue();
    if (!(d >= 0 && d <= 9007199254740991.0)) throw Napi::RangeError::New(info.Env(), "bad ioctl argument");
    arg = static_cast<unsigned long>(d);
  }
  int r = ::ioctl(fd, req, arg);
  if (r < 0) throw ErrnoError(info.Env(), errno, "ioctl 0x" + [&] { char b[16]; snprintf(b, sizeof b, "%x", req); return std::string(b); }());
  return Napi::Number::New(info.Env(), r);
}

// ioctl(fd, request, buffer) -> non-negative result. Only ioctls whose
// structures carry no host pointers are accepted (kvm_abi.c). The buffer must
// hold at least the size encoded in the request, and variable-length
// structures (kvm_cpuid2, kvm_msrs, kvm_irq_routing) as many entries as their
// count field says.
Napi::Value IoctlBuffer(const Napi::CallbackInfo& info) {
  int fd = ArgInt(info, 0, "fd");
  uint32_t req = ArgU32(info, 1, "request");
  auto [data, len] = ArgBytes(info, 2, "buffer");
  if (_IOC_TYPE(req) != KVMIO) throw Napi::RangeError::New(info.Env(), "not a KVM ioctl");
  if (_IOC_DIR(req) == _IOC_NONE) throw Napi::RangeError::New(info.Env(), "ioctl takes an integer");
  if (len < _IOC_SIZE(req)) throw Napi::RangeError::New(info.Env(), "buffer smaller than the ioctl's structure");
  size_t header = 0;
  size_t entry = 0;
  if (!kvm_abi_buffer_ioctl(req, &header, &entry)) {
    throw Napi::RangeError::New(info.Env(), "ioctl not allowed through ioctlBuffer");
  }
  // Variable-length arrays: the kernel reads/writes count * entry bytes.
  size_t need = 0;
  if (entry != 0) {
    uint32_t count = 0;
    if (len >= 4) std::memcpy(&count, data, 4);
    need = header + size_t{count} * entry;
  }
  if (len < need) throw Napi::RangeError::New(info.Env(), "buffer smaller than its entry count");
  int r = ::ioctl(fd, req, data);
  if (r < 0) {
    int e = errno;
    // E2BIG from KVM_GET_SUPPORTED_CPUID etc.: the caller retries with a larger count.
    throw ErrnoError(info.Env(), e, "ioctl 0x" + [&] { char b[16]; snprintf(b, sizeof b, "%x", req); return std::string(b); }());
  }
  return Napi::Number::New(info.Env(), r);
}

// setUserMemoryRegion(vmFd, slot, flags, gpa: bigint, memory: TypedArray | null)
// Documentation/virt/kvm/api.rst 4.35: userspace_addr must be page aligned; a
// size of 0 deletes the slot.
Napi::Value SetUserMemoryRegion(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgInt(info, 0, "vmFd");
  uint32_t slot = ArgU32(info, 1, "slot");
  uint32_t flags = ArgU32(info, 2, "flags");
  if (info.Length() < 4 || !info[3].IsBigInt()) throw Napi::TypeError::New(env, "gpa must be a bigint");
  bool lossless = false;
  uint64_t gpa = info[3].As<Napi::BigInt>().Uint64Value(&lossless);
  if (!lossless) throw Napi::RangeError::New(env, "gpa out of range");
  kvm_userspace_memory_region r{};
  r.slot = slot;
  r.flags = flags;
  r.guest_phys_addr = gpa;
  bool remove = info.Length() < 5 || info[4].IsNull() || info[4].IsUndefined();
  if (!remove) {
    auto [data, len] = ArgBytes(info, 4, "memory");
    long page = sysconf(_SC_PAGESIZE);
    if ((reinterpret_cast<uintptr_t>(data) % page) != 0 || (len % page) != 0 || (gpa % page) != 0) {
      throw Napi::RangeError::New(env, "memory region must be page aligned");
    }
    r.memory_size = len;
    r.userspace_addr = reinterpret_cast<uintptr_t>(data);
  }
  if (::ioctl(fd, KVM_SET_USER_MEMORY_REGION, &r) < 0) throw ErrnoError(env, errno, "KVM_SET_USER_MEMORY_REGION");
  auto key = std::make_pair(fd, slot);
  SlotRefs().erase(key);
  if (!remove) SlotRefs().emplace(key, Napi::Persistent(info[4]));
  return env.Undefined();
}

// ---- vCPU threads -----------------------------------------------------------

int KickSignal() { return SIGRTMIN + 4; }

void KickHandler(int) {
  // Nothing: the signal only makes KVM_RUN return -EINTR.
}

void InstallKickHandler() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    sa.sa_handler = KickHandler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: KVM_RUN must come back with EINTR
    sigaction(KickSignal(), &sa, nullptr);
  });
}

struct Event {
  int kind;
  int err;
};

class VcpuThread : public Napi::ObjectWrap<VcpuThread> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "VcpuThread", {
      InstanceMethod<&VcpuThread::Resume>("resume"),
      InstanceMethod<&VcpuThread::RequestPause>("requestPause"),
      InstanceMethod<&VcpuThread::Stop>("stop"),
      InstanceMethod<&VcpuThread::Ref>("ref"),
      InstanceMethod<&VcpuThread::Unref>("unref"),
      InstanceAccessor<&VcpuThread::GetRun>("run"),
      InstanceAccessor<&VcpuThread::GetState>("state"),
    });
  }

  // new VcpuThread(vcpuFd, mmapSize, onEvent(kind, errno))
  explicit VcpuThread(const Napi::CallbackInfo& info) : Napi::ObjectWrap<VcpuThread>(info) {
    Napi::Env env = info.Env();
    fd_ = ArgInt(info, 0, "vcpuFd");
    int size = ArgInt(info, 1, "mmapSize");
    if (size < static_cast<int>(sizeof(kvm_run))) throw Napi::RangeError::New(env, "mmapSize too small");
    if (info.Length() < 3 || !info[2].IsFunction()) throw Napi::TypeError::New(env, "onEvent must be a function");
    void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
    if (p == MAP_FAILED) throw ErrnoError(env, errno, "mmap kvm_run");
    run_ = static_cast<kvm_run*>(p);
    mapSize_ = size;
    // The ArrayBuffer owns the mapping: it is unmapped when both this object
    // and every view of the buffer are gone.
    runBuffer_ = Napi::Persistent(Napi::ArrayBuffer::New(env, p, size, [](Napi::Env, void* data, size_t* len) {
      munmap(data, *len);
      delete len;
    }, new size_t(size)));
    tsfn_ = Napi::ThreadSafeFunction::New(env, info[2].As<Napi::Function>(), "kvm-vcpu", 0, 1);
    tsfn_.Unref(env);
    InstallKickHandler();
    thread_ = std::thread([this] { Loop(); });
    // Registered after the TSFN's own cleanup hook, so it runs before it
    // (hooks run in reverse order): threads are joined while the TSFN lives.
    env_ = env;
    if (napi_add_env_cleanup_hook(env, CleanupHook, this) == napi_ok) hook_ = true;
  }

  ~VcpuThread() override { Close(); }

 private:
  enum class State { Parked, Running, ExitPending, Quit };

  void Post(int kind, int err) {
    auto* ev = new Event{kind, err};
    napi_status s = tsfn_.NonBlockingCall(ev, [](Napi::Env env, Napi::Function fn, Event* e) {
      int kind = e->kind, err = e->err;
      delete e;
      if (env != nullptr && fn != nullptr) {
        fn.Call({Napi::Number::New(env, kind), Napi::Number::New(env, err)});
      }
    });
    if (s != napi_ok) delete ev;
  }

  void Loop() {
    // Process-directed signals go to other threads; only the kick reaches us.
    sigset_t all;
    sigfillset(&all);
    sigdelset(&all, KickSignal());
    pthread_sigmask(SIG_SETMASK, &all, nullptr);
    std::unique_lock<std::mutex> lock(mu_);
    tid_ = pthread_self();
    threadReady_ = true;
    cv_.notify_all();
    for (;;) {
      cv_.wait(lock, [this] { return state_ == State::Running || state_ == State::Quit; });
      if (state_ == State::Quit) break;
      // immediate_exit is written only under mu_ (here and in RequestPause), so a
      // pause request cannot be lost between this check and KVM_RUN: either we
      // see it here, or the requester's signal interrupts KVM_RUN.
      run_->immediate_exit = (pauseRequested_ || quit_) ? 1 : 0;
      lock.unlock();
      int r = ::ioctl(fd_, KVM_RUN, 0);
      int err = r < 0 ? errno : 0;
      lock.lock();
      run_->immediate_exit = 0;
      if (quit_) break;
      if (r < 0 && (err == EINTR || err == EAGAIN)) {
        if (pauseRequested_) {
          pauseRequested_ = false;
          state_ = State::Parked;
          Post(kEventPaused, 0);
        }
        continue;  // a stray kick: run again
      }
      if (r < 0) {
        state_ = State::Parked;
        pauseRequested_ = false;
        Post(kEventError, err);
        continue;
      }
      state_ = State::ExitPending;
      Post(kEventExit, 0);
    }
    state_ = State::Quit;
    threadDone_ = true;
    cv_.notify_all();
  }

  // resume(cancelPause = false): leave Parked or ExitPending and enter KVM_RUN
  // again (completing a pending IO/MMIO exit with whatever JavaScript wrote
  // into kvm_run). An exit handler resumes with a pause request still
  // standing (the thread then completes the exit and parks); a fresh start
  // passes cancelPause = true so a request the caller has settled otherwise
  // does not park the thread at once.
  Napi::Value Resume(const Napi::CallbackInfo& info) {
    std::lock_guard<std::mutex> lock(mu_);
    if (info.Length() > 0 && info[0].ToBoolean().Value()) pauseRequested_ = false;
    if (state_ == State::Parked || state_ == State::ExitPending) {
      state_ = State::Running;
      cv_.notify_all();
      return Napi::Boolean::New(info.Env(), true);
    }
    return Napi::Boolean::New(info.Env(), false);
  }

  // requestPause() -> true if a "paused" event will follow (the thread was
  // running or has an exit pending), false if it is parked already.
  Napi::Value RequestPause(const Napi::CallbackInfo& info) {
    std::lock_guard<std::mutex> lock(mu_);
    if (state_ == State::Parked || state_ == State::Quit) return Napi::Boolean::New(info.Env(), false);
    pauseRequested_ = true;
    // Before the thread has reached its loop (threadReady_) tid_ is not set yet and there is no
    // KVM_RUN to interrupt: the loop sees pauseRequested_ before its first KVM_RUN (immediate_exit).
    // pthread_kill on the unset tid_ crashed the process (seen in CI: SIGSEGV in pthread_kill).
    if (state_ == State::Running && threadReady_) {
      run_->immediate_exit = 1;
      pthread_kill(tid_, KickSignal());
    }
    return Napi::Boolean::New(info.Env(), true);
  }

  static void CleanupHook(void* arg) {
    auto* self = static_cast<VcpuThread*>(arg);
    self->hook_ = false;
    self->Shutdown();
  }

  // Stop the thread and release the TSFN; safe to call more than once.
  void Close() {
    if (hook_) {
      napi_remove_env_cleanup_hook(env_, CleanupHook, this);
      hook_ = false;
    }
    Shutdown();
  }

  void Shutdown() {
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (!thread_.joinable()) return;
      cv_.wait(lock, [this] { return threadReady_; });
      quit_ = true;
      if (state_ == State::Running) {
        run_->immediate_exit = 1;
        pthread_kill(tid_, KickSignal());
      }
      state_ = State::Quit;
      cv_.notify_all();
    }
    // The thread may be inside KVM_RUN (an AP waiting for SIPI, say): keep
    // kicking until it leaves; a kick that lands before the ioctl is covered
    // by immediate_exit.
    for (;;) {
      std::unique_lock<std::mutex> lock(mu_);
      if (cv_.wait_for(lock, std::chrono::milliseconds(2), [this] { return threadDone_; })) break;
      pthread_kill(tid_, KickSignal());
    }
    thread_.join();
    if (!tsfnDone_) {
      tsfnDone_ = true;
      tsfn_.Abort();
    }
  }

  Napi::Value Stop(const Napi::CallbackInfo& info) {
    Close();
    return info.Env().Undefined();
  }

  Napi::Value Ref(const Napi::CallbackInfo& info) {
    if (!tsfnDone_) tsfn_.Ref(info.Env());
    return info.Env().Undefined();
  }

  Napi::Value Unref(const Napi::CallbackInfo& info) {
    if (!tsfnDone_) tsfn_.Unref(info.Env());
    return info.Env().Undefined();
  }

  Napi::Value GetRun(const Napi::CallbackInfo&) { return runBuffer_.Value(); }

  Napi::Value GetState(const Napi::CallbackInfo& info) {
    std::lock_guard<std::mutex> lock(mu_);
    const char* s = "parked";
    switch (state_) {
      case State::Parked: s = "parked"; break;
      case State::Running: s = "running"; break;
      case State::ExitPending: s = "exit-pending"; break;
      case State::Quit: s = "stopped"; break;
    }
    return Napi::String::New(info.Env(), s);
  }

  napi_env env_ = nullptr;
  bool hook_ = false;
  bool tsfnDone_ = false;
  int fd_ = -1;
  kvm_run* run_ = nullptr;
  int mapSize_ = 0;
  Napi::Reference<Napi::ArrayBuffer> runBuffer_;
  Napi::ThreadSafeFunction tsfn_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  pthread_t tid_{};
  bool threadReady_ = false;
  bool threadDone_ = false;
  bool pauseRequested_ = false;
  bool quit_ = false;
  State state_ = State::Parked;
};

// ---- constants from the kernel headers (tests compare src/kvm/abi.ts with these) ----

Napi::Object Constants(Napi::Env env) {
  Napi::Object c = Napi::Object::New(env);
  size_t n = 0;
  const kvm_abi_constant* list = kvm_abi_constants(&n);
  for (size_t i = 0; i < n; i++) c.Set(list[i].name, Napi::Number::New(env, list[i].value));
  c.Set("kickSignal", Napi::Number::New(env, KickSignal()));
  return c;
}

}  // namespace
Napi::Object TapInit(Napi::Env env);  // src/tap.cc
namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("open", Napi::Function::New<Open>(env, "open"));
  exports.Set("close", Napi::Function::New<Close>(env, "close"));
  exports.Set("ioctl", Napi::Function::New<IoctlInt>(env, "ioctl"));
  exports.Set("ioctlBuffer", Napi::Function::New<IoctlBuffer>(env, "ioctlBuffer"));
  exports.Set("setUserMemoryRegion", Napi::Function::New<SetUserMemoryRegion>(env, "setUserMemoryRegion"));
  exports.Set("VcpuThread", VcpuThread::Init(env));
  exports.Set("constants", Constants(env));
  exports.Set("tap", TapInit(env));  // src/tap.cc (microvm-ts -netdev tap)
  exports.Set("EVENT_EXIT", Napi::Number::New(env, kEventExit));
  exports.Set("EVENT_PAUSED", Napi::Number::New(env, kEventPaused));
  exports.Set("EVENT_ERROR", Napi::Number::New(env, kEventError));
  return exports;
}

}  // namespace

NODE_API_MODULE(kvm_bindings, Init)
