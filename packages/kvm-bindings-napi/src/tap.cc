// TAP devices for microvm-ts's `-netdev tap` (src/net/tap.ts): open
// /dev/net/tun with TUNSETIFF (IFF_TAP | IFF_NO_PI, linux/if_tun.h), and a
// reader thread that poll()s the fd and posts each frame to JavaScript, so
// the event loop never blocks on the device. Writes are done from JS with
// fs.writeSync on the (non-blocking) fd.
#include <napi.h>

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

Napi::Error ErrnoError(Napi::Env env, int err, const char* syscall) {
  Napi::Error e = Napi::Error::New(env, std::string(syscall) + ": " + strerror(err));
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("syscall", Napi::String::New(env, syscall));
  return e;
}

// tapOpen(ifname) -> { fd, ifname }
Napi::Value TapOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = info.Length() > 0 && info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
  if (name.size() >= IFNAMSIZ) throw Napi::RangeError::New(env, "interface name too long");
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) throw ErrnoError(env, errno, "open /dev/net/tun");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int err = errno;
    close(fd);
    throw ErrnoError(env, err, "ioctl TUNSETIFF");
  }
  Napi::Object r = Napi::Object::New(env);
  r.Set("fd", Napi::Number::New(env, fd));
  r.Set("ifname", Napi::String::New(env, ifr.ifr_name));
  return r;
}

using Frame = std::vector<uint8_t>;

// new TapReader(fd, onFrame(buffer)); .stop()
class TapReader : public Napi::ObjectWrap<TapReader> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "TapReader", {InstanceMethod<&TapReader::Stop>("stop")});
  }

  explicit TapReader(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TapReader>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsFunction()) {
      throw Napi::TypeError::New(env, "TapReader(fd, onFrame)");
    }
    fd_ = info[0].As<Napi::Number>().Int32Value();
    stopFd_ = eventfd(0, EFD_CLOEXEC);
    if (stopFd_ < 0) throw ErrnoError(env, errno, "eventfd");
    tsfn_ = Napi::ThreadSafeFunction::New(env, info[1].As<Napi::Function>(), "tap-reader", 256, 1);
    tsfn_.Unref(env);
    thread_ = std::thread([this] { Loop(); });
  }

  ~TapReader() override { Shutdown(); }

 private:
  void Loop() {
    std::vector<uint8_t> buf(65536 + 64);
    for (;;) {
      struct pollfd p[2] = {{fd_, POLLIN, 0}, {stopFd_, POLLIN, 0}};
      int n = poll(p, 2, -1);
      if (n < 0) {
        if (errno == EINTR) continue;
        break;
      }
      if (p[1].revents) break;
      if (p[0].revents & (POLLERR | POLLHUP | POLLNVAL)) break;
      for (;;) {
        ssize_t r = read(fd_, buf.data(), buf.size());
        if (r <= 0) break;
        Frame* f = new Frame(buf.begin(), buf.begin() + r);
        napi_status st = tsfn_.BlockingCall(f, [](Napi::Env env, Napi::Function cb, Frame* fr) {
          Napi::Buffer<uint8_t> b = Napi::Buffer<uint8_t>::Copy(env, fr->data(), fr->size());
          delete fr;
          cb.Call({b});
        });
        if (st != napi_ok) {
          delete f;
          return;
        }
      }
    }
  }

  void Shutdown() {
    if (stopped_) return;
    stopped_ = true;
    uint64_t one = 1;
    if (write(stopFd_, &one, sizeof one) < 0) {
      // nothing else to do: the thread also ends when the fd closes
    }
    if (thread_.joinable()) thread_.join();
    close(stopFd_);
    tsfn_.Release();
  }

  Napi::Value Stop(const Napi::CallbackInfo& info) {
    Shutdown();
    return info.Env().Undefined();
  }

  int fd_ = -1;
  int stopFd_ = -1;
  bool stopped_ = false;
  Napi::ThreadSafeFunction tsfn_;
  std::thread thread_;
};

}  // namespace

Napi::Object TapInit(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("open", Napi::Function::New<TapOpen>(env, "tapOpen"));
  o.Set("TapReader", TapReader::Init(env));
  return o;
}
