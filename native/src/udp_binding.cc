// The Node-API glue of the native UDP port: class `UdpPort` (NativeUdpPort in src/dataplane/native-addon.ts).
// It polls the socket of a UdpSocket (udp_port.h) with a uv_poll_t on the loop of the environment that made
// it, packs each received batch into a 1 MiB JS arena Buffer plus the caller's meta Int32Array and calls
// onBatch through MakeCallback, then flushes the send queue. With turnFraming(true) each datagram's TURN
// framing (turn_framing.h) is written into its meta entry too, so TypeScript does not parse it again. Teardown: close(), a GC'd port, or the
// environment's async cleanup hook (a worker exiting with the port open) stop the poll; libuv's close
// callback frees the poll handle and releases the hook.
// What it must not do: keep state outside its instances, call JavaScript outside MakeCallback, throw for
// packet content (bad sends are counted and dropped), or touch a port after its poll handle is closing.
#include <uv.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <memory>
#include <string>

#include "addon.h"
#include "turn_framing.h"
#include "udp_port.h"

namespace shoal {

namespace {

/** Bytes of a receive arena (a batch that needs more gets an arena of its own size). */
constexpr size_t kArenaBytes = 1 << 20;
/** Batches read per readable event, so that one busy socket cannot starve the loop (uv_poll comes back). */
constexpr int kBatchesPerEvent = 8;

class UdpPort;

static_assert(kUdpMetaWords == kUdpAddressMetaWords + kTurnMetaWords, "a meta entry is the UDP words then the TURN framing's");

/** Marks UdpPort objects, so UdpSocketOf can tell them from any other object (napi_type_tag_object). */
constexpr napi_type_tag kUdpPortTag = {0x5e0a1c7d3b2f4e61ULL, 0x9d84a2c6f1b3e057ULL};

/** The libuv side of a bound port: libuv owns it from uv_close until its close callback frees it. */
struct PollHandle {
  uv_poll_t poll;
  /** The port, or nullptr once it has started closing this handle. */
  UdpPort* owner = nullptr;
  /** The environment's async cleanup hook; released when the handle is closed. */
  napi_async_cleanup_hook_handle hook = nullptr;
};

Napi::Error ErrnoError(Napi::Env env, int err, const std::string& where) {
  std::string name = uv_err_name(err);
  Napi::Error e = Napi::Error::New(env, "bind " + name + " " + where + " (" + uv_strerror(err) + ")");
  e.Set("code", Napi::String::New(env, name));
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("syscall", Napi::String::New(env, "bind"));
  return e;
}

/** A JS number as an index/length, or false for anything else (a non-number, NaN, a fraction, < 0). */
bool ArgIndex(napi_env env, napi_value v, uint64_t* out) {
  double d;
  return napi_get_value_double(env, v, &d) == napi_ok && UdpToIndex(d, out);
}

class UdpPort : public Napi::ObjectWrap<UdpPort> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "UdpPort",
                       {InstanceMethod<&UdpPort::Bind>("bind"), InstanceMethod<&UdpPort::Send>("send"),
                        InstanceMethod<&UdpPort::Send6>("send6"), InstanceMethod<&UdpPort::FlushJs>("flush"),
                        InstanceMethod<&UdpPort::CountersJs>("counters"), InstanceMethod<&UdpPort::CloseJs>("close"),
                        InstanceMethod<&UdpPort::PollJs>("poll"), InstanceMethod<&UdpPort::ReadJs>("read"),
                        InstanceMethod<&UdpPort::ReuseArenaJs>("reuseArena"),
                        InstanceMethod<&UdpPort::TurnFramingJs>("turnFraming")});
  }

  explicit UdpPort(const Napi::CallbackInfo& info) : Napi::ObjectWrap<UdpPort>(info), env_(info.Env()) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsFunction()) throw Napi::TypeError::New(env, "UdpPort(onBatch, meta): onBatch must be a function");
    bool metaOk = info[1].IsTypedArray() && info[1].As<Napi::TypedArray>().TypedArrayType() == napi_int32_array &&
                  info[1].As<Napi::TypedArray>().ElementLength() >= static_cast<size_t>(kUdpMaxBatch * kUdpMetaWords);
    if (!metaOk) throw Napi::TypeError::New(env, "UdpPort(onBatch, meta): meta must be an Int32Array of UDP_MAX_BATCH * UDP_META_WORDS words");
    onBatch_ = Napi::Persistent(info[0].As<Napi::Function>());
    meta_ = Napi::Persistent(info[1].As<Napi::Object>());
    context_ = std::make_unique<Napi::AsyncContext>(env, "shoal.UdpPort", info.This().As<Napi::Object>());
    if (napi_type_tag_object(env, info.This(), &kUdpPortTag) != napi_ok) throw Napi::Error::New(env, "UdpPort: cannot tag the object");
  }

  /** The socket (for SrtpSession's send path, which writes SRTP packets straight into its queue). */
  UdpSocket& Socket() { return socket_; }

  ~UdpPort() override { Close(); }

  /** Stops polling (the handle is freed by libuv's close callback) and closes the socket; idempotent. */
  void Close() {
    if (poll_ != nullptr) {
      PollHandle* p = poll_;
      poll_ = nullptr;
      p->owner = nullptr;
      uv_poll_stop(&p->poll);
      uv_close(reinterpret_cast<uv_handle_t*>(&p->poll), OnClosed);
    }
    socket_.Close();
  }

 private:
  Napi::Value Bind(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 3 || !info[0].IsString() || !info[1].IsNumber() || !info[2].IsNumber()) {
      throw Napi::TypeError::New(env, "bind(ip, port, bufferBytes): an IP literal and two numbers");
    }
    std::string ip = info[0].As<Napi::String>().Utf8Value();
    double port = info[1].As<Napi::Number>().DoubleValue();
    double buffer = info[2].As<Napi::Number>().DoubleValue();
    if (!(port >= 0 && port <= 65535) || std::floor(port) != port) throw Napi::RangeError::New(env, "bind: port must be an integer in [0, 65535]");
    int bufferBytes = buffer > 0 ? static_cast<int>(std::min(buffer, static_cast<double>(INT_MAX))) : 0;
    std::string where = ip + ":" + std::to_string(static_cast<int>(port));
    int bound = socket_.Bind(ip.c_str(), static_cast<int>(port), bufferBytes);
    if (bound < 0) throw ErrnoError(env, bound, where);

    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
      socket_.Close();
      throw Napi::Error::New(env, "bind: no libuv loop in this environment");
    }
    auto* p = new PollHandle();
    int rc = uv_poll_init(loop, &p->poll, socket_.Fd());
    if (rc != 0) {
      delete p;
      socket_.Close();
      throw ErrnoError(env, rc, where);
    }
    p->owner = this;
    p->poll.data = p;
    rc = uv_poll_start(&p->poll, UV_READABLE, OnPoll);
    if (rc != 0) {
      p->owner = nullptr;
      uv_close(reinterpret_cast<uv_handle_t*>(&p->poll), OnClosed);
      socket_.Close();
      throw ErrnoError(env, rc, where);
    }
    napi_add_async_cleanup_hook(env, OnCleanup, p, &p->hook);
    poll_ = p;
    return Napi::Number::New(env, bound);
  }

  /** The frame of send/send6 (any Uint8Array or Buffer), or a TypeError: that is a programming error, not input. */
  static void FrameOf(const Napi::CallbackInfo& info, const uint8_t** data, size_t* len) {
    void* d = nullptr;
    if (info.Length() < 5 || napi_get_buffer_info(info.Env(), info[0], &d, len) != napi_ok) {
      throw Napi::TypeError::New(info.Env(), "send(frame, offset, length, address, port): frame must be a Buffer");
    }
    *data = static_cast<const uint8_t*>(d);
  }

  Napi::Value Send(const Napi::CallbackInfo& info) {
    napi_env env = info.Env();
    const uint8_t* frame;
    size_t frameLen;
    FrameOf(info, &frame, &frameLen);
    uint64_t offset = 0, length = 0, port = 0;
    double ip = 0;
    UdpDest dest;
    bool ok = ArgIndex(env, info[1], &offset) && ArgIndex(env, info[2], &length) && ArgIndex(env, info[4], &port) &&
              napi_get_value_double(env, info[3], &ip) == napi_ok && ip >= -2147483648.0 && ip < 4294967296.0 &&
              std::floor(ip) == ip && socket_.Dest4(static_cast<uint32_t>(static_cast<int64_t>(ip)), static_cast<int64_t>(port), &dest);
    socket_.Queue(frame, frameLen, offset, length, ok ? &dest : nullptr);
    return info.Env().Undefined();
  }

  Napi::Value Send6(const Napi::CallbackInfo& info) {
    napi_env env = info.Env();
    const uint8_t* frame;
    size_t frameLen;
    FrameOf(info, &frame, &frameLen);
    uint64_t offset = 0, length = 0, port = 0;
    void* ip = nullptr;
    size_t ipLen = 0;
    UdpDest dest;
    bool ok = ArgIndex(env, info[1], &offset) && ArgIndex(env, info[2], &length) && ArgIndex(env, info[4], &port) &&
              napi_get_buffer_info(env, info[3], &ip, &ipLen) == napi_ok &&
              socket_.Dest6(static_cast<const uint8_t*>(ip), ipLen, static_cast<int64_t>(port), &dest);
    socket_.Queue(frame, frameLen, offset, length, ok ? &dest : nullptr);
    return info.Env().Undefined();
  }

  Napi::Value FlushJs(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), socket_.Flush()); }

  Napi::Value CountersJs(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const UdpCounters& c = socket_.Counters();
    Napi::Object o = Napi::Object::New(env);
    auto set = [&](const char* name, uint64_t v) { o.Set(name, Napi::Number::New(env, static_cast<double>(v))); };
    set("received", c.received);
    set("receivedBytes", c.receivedBytes);
    set("batches", c.batches);
    set("truncated", c.truncated);
    set("sent", c.sent);
    set("sentBytes", c.sentBytes);
    set("sendCalls", c.sendCalls);
    set("sendErrors", c.sendErrors);
    set("sendDropped", c.sendDropped);
    return o;
  }

  Napi::Value CloseJs(const Napi::CallbackInfo& info) {
    Close();
    return info.Env().Undefined();
  }

  /**
   * poll(on): whether the port reads when the socket becomes readable (the default) or only when read() is
   * called (a load generator reading on a timer, to take many datagrams per call).
   */
  Napi::Value PollJs(const Napi::CallbackInfo& info) {
    const bool on = info.Length() > 0 && info[0].ToBoolean().Value();
    if (poll_ != nullptr) {
      const int rc = on ? uv_poll_start(&poll_->poll, UV_READABLE, OnPoll) : uv_poll_stop(&poll_->poll);
      if (rc != 0) throw Napi::Error::New(info.Env(), std::string("poll: ") + uv_strerror(rc));
    }
    return info.Env().Undefined();
  }

  /**
   * reuseArena(on): the caller never keeps a view of a received datagram past its onBatch call, so a full
   * arena may be written again from the start (no new 1 MiB Buffer per MiB received: a load generator's GC).
   */
  Napi::Value ReuseArenaJs(const Napi::CallbackInfo& info) {
    reuseArena_ = info.Length() > 0 && info[0].ToBoolean().Value();
    return info.Env().Undefined();
  }

  /** turnFraming(on): whether each received datagram's TURN framing is written into its meta entry (off: zeros). */
  Napi::Value TurnFramingJs(const Napi::CallbackInfo& info) {
    turnFraming_ = info.Length() > 0 && info[0].ToBoolean().Value();
    return info.Env().Undefined();
  }

  /** Writes the TURN framing of the `count` datagrams just packed into their meta entries. */
  void FrameBatch(int32_t* meta, int count) {
    for (int i = 0; i < count; i++) {
      int32_t* entry = meta + static_cast<size_t>(i) * kUdpMetaWords;
      const auto offset = static_cast<uint32_t>(entry[0]);
      const auto length = static_cast<uint32_t>(entry[1]);
      // Pack wrote offset and length inside the arena; checked again all the same (a bad entry reads as nothing).
      const bool inside = offset <= arenaCap_ && length <= arenaCap_ - offset;
      TurnWriteMeta(entry + kUdpAddressMetaWords, FrameTurnDatagram(inside ? arenaData_ + offset : nullptr, inside ? length : 0), offset);
    }
  }

  /** read(): reads what is waiting now (as a readable event would: onBatch per batch, a flush after each). */
  Napi::Value ReadJs(const Napi::CallbackInfo& info) {
    if (poll_ != nullptr) OnReadable();
    return info.Env().Undefined();
  }

  /** Makes sure the current arena has `need` free bytes (a new arena otherwise); false when none could be made. */
  bool EnsureArena(size_t need, napi_value* arena) {
    if (!arena_.IsEmpty()) {
      void* data = nullptr;
      size_t len = 0;
      *arena = arena_.Value();
      // Re-read each batch: an arena JS detached (transferred) reads as empty and is replaced.
      if (*arena != nullptr && napi_get_buffer_info(env_, *arena, &data, &len) == napi_ok && data == arenaData_ &&
          len == arenaCap_ && arenaUsed_ <= arenaCap_ && need <= arenaCap_ - arenaUsed_) {
        return true;
      }
      // A port told its views are never kept starts the same arena over instead of making a new one.
      if (reuseArena_ && *arena != nullptr && data == arenaData_ && len == arenaCap_ && need <= arenaCap_) {
        arenaUsed_ = 0;
        return true;
      }
    }
    size_t size = std::max(kArenaBytes, need);
    void* data = nullptr;
    if (napi_create_buffer(env_, size, &data, arena) != napi_ok) return false;
    arena_ = Napi::Persistent(Napi::Object(env_, *arena));
    arenaData_ = static_cast<uint8_t*>(data);
    arenaCap_ = size;
    arenaUsed_ = 0;
    return true;
  }

  /** Hands the batch of the last Receive to onBatch; false when the port is gone (closed or collected). */
  bool Deliver() {
    Napi::Object self = Value();
    if (self.IsEmpty()) {
      Close();
      return false;
    }
    napi_value metaValue = meta_.Value();
    napi_typedarray_type type;
    size_t words = 0;
    void* metaData = nullptr;
    if (metaValue == nullptr || napi_get_typedarray_info(env_, metaValue, &type, &words, &metaData, nullptr, nullptr) != napi_ok ||
        type != napi_int32_array) {
      words = 0;
    }
    napi_value arena = nullptr;
    int count = 0;
    size_t need = socket_.PendingBytes();
    if (words > 0 && EnsureArena(need, &arena)) {  // need may be 0: empty datagrams are delivered too (as by node:dgram)
      count = socket_.Pack(arenaData_, arenaCap_, &arenaUsed_, static_cast<int32_t*>(metaData), words);
      if (turnFraming_) FrameBatch(static_cast<int32_t*>(metaData), count);
    } else {
      size_t none = 0;
      socket_.Pack(nullptr, 0, &none, nullptr, 0);  // counts the truncated ones; nothing can be delivered
    }
    if (count == 0) return true;
    napi_value argv[2] = {arena, Napi::Number::New(env_, count)};
    napi_value result;
    napi_status status = napi_make_callback(env_, *context_, self, onBatch_.Value(), 2, argv, &result);
    if (status == napi_pending_exception) {
      napi_value error;
      if (napi_get_and_clear_last_exception(env_, &error) == napi_ok) napi_fatal_exception(env_, error);
    }
    return socket_.Fd() >= 0;
  }

  void OnReadable() {
    Napi::HandleScope scope(env_);
    for (int round = 0; round < kBatchesPerEvent && socket_.Fd() >= 0; round++) {
      int n = socket_.Receive();
      if (n <= 0) break;
      if (!Deliver()) break;
      socket_.Flush();
      if (n < kUdpMaxBatch) break;  // the socket is drained: skip the recvmmsg that would say so
    }
  }

  static void OnPoll(uv_poll_t* handle, int status, int events) {
    auto* p = static_cast<PollHandle*>(handle->data);
    if (p->owner == nullptr) return;
    if (status < 0) {
      p->owner->Close();
      return;
    }
    if (events & UV_READABLE) p->owner->OnReadable();
  }

  static void OnClosed(uv_handle_t* handle) {
    auto* p = static_cast<PollHandle*>(handle->data);
    if (p->hook != nullptr) napi_remove_async_cleanup_hook(p->hook);
    delete p;
  }

  /** The environment is going away with the port open: close it; OnClosed tells the environment when it is done. */
  static void OnCleanup(napi_async_cleanup_hook_handle, void* arg) {
    auto* p = static_cast<PollHandle*>(arg);
    if (p->owner != nullptr) p->owner->Close();
  }

  napi_env env_;
  UdpSocket socket_;
  Napi::FunctionReference onBatch_;
  Napi::ObjectReference meta_;
  std::unique_ptr<Napi::AsyncContext> context_;
  Napi::ObjectReference arena_;
  uint8_t* arenaData_ = nullptr;
  size_t arenaCap_ = 0;
  size_t arenaUsed_ = 0;
  PollHandle* poll_ = nullptr;
  bool reuseArena_ = false;
  bool turnFraming_ = false;
};

}  // namespace

void InitUdpPort(Napi::Env env, Napi::Object exports) { exports.Set("UdpPort", UdpPort::Define(env)); }

UdpSocket* UdpSocketOf(napi_env env, napi_value port) {
  bool tagged = false;
  if (napi_check_object_type_tag(env, port, &kUdpPortTag, &tagged) != napi_ok || !tagged) return nullptr;
  void* wrapped = nullptr;
  if (napi_unwrap(env, port, &wrapped) != napi_ok || wrapped == nullptr) return nullptr;
  return &static_cast<UdpPort*>(wrapped)->Socket();
}

}  // namespace shoal
