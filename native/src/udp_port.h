// The core of the native UDP port: one non-blocking UDP socket, read with recvmmsg into native scratch
// slots and packed compactly into a caller-supplied arena (with a meta entry per datagram), and written
// from a bounded native send queue with sendmmsg. Pure POSIX: no Node-API, no libuv (udp_binding.cc
// polls the fd and hands batches to JavaScript), so fuzzers and sanitizer builds link it alone.
// What it must not do: allocate per packet, read or write outside a buffer whatever the caller passes
// (offsets, lengths, addresses are checked here), or block.
#pragma once
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <memory>

namespace shoal {

/** Datagrams per recvmmsg (the meta array holds this many entries): UDP_MAX_BATCH in native-addon.ts. */
constexpr int kUdpMaxBatch = 32;
/**
 * Words of a meta entry the UDP port writes: offset, length, family, port, address (1 or 4 words), then
 * (word kUdpAgeMetaWord) how long ago the kernel received the datagram, µs, when Pack ran (-1: not known).
 */
constexpr int kUdpAddressMetaWords = 9;
constexpr int kUdpAgeMetaWord = 8;
/** Control bytes per received datagram: room for its SCM_TIMESTAMPNS (SO_TIMESTAMPNS is set at bind). */
constexpr size_t kUdpControlBytes = 64;
/**
 * Words per datagram in the meta array (UDP_META_WORDS in native-addon.ts): the UDP port's, then the TURN
 * framing's (turn_framing.h kTurnMetaWords, written by udp_binding.cc when framing is on; zeros otherwise).
 */
constexpr int kUdpMetaWords = kUdpAddressMetaWords + 9;
/** A receive slot holds any UDP datagram. */
constexpr size_t kUdpSlotBytes = 65536;
/** The largest datagram the send queue takes (the IPv4 UDP payload limit). */
constexpr size_t kUdpMaxSend = 65507;
/** Datagrams the send queue holds before it is written at once. */
constexpr int kUdpSendQueue = 64;
/** Bytes of the send queue's buffer (every queued datagram is copied in, 8-byte aligned). */
constexpr size_t kUdpSendBufferBytes = 256 * 1024;

/** The NativeUdpCounters of native-addon.ts. */
struct UdpCounters {
  uint64_t received = 0;
  uint64_t receivedBytes = 0;
  uint64_t batches = 0;
  uint64_t truncated = 0;
  uint64_t sent = 0;
  uint64_t sentBytes = 0;
  uint64_t sendCalls = 0;
  uint64_t sendErrors = 0;
  /** Datagrams refused before the kernel: bad offset/length/address/port, too large, or port closed. */
  uint64_t sendDropped = 0;
};

/** A destination address, in the form the socket's family needs. */
struct UdpDest {
  union {
    sockaddr_in v4;
    sockaddr_in6 v6;
  } addr;
  socklen_t len = 0;
};

/** Rounds an arena offset up to the next multiple of 8. */
constexpr size_t UdpAlign8(size_t n) { return (n + 7) & ~static_cast<size_t>(7); }

/**
 * Converts a JavaScript number to an index or length: true only for an integer in [0, 2^53).
 * Anything else (NaN, infinities, fractions, negatives) is a bad argument, and the datagram is dropped.
 */
bool UdpToIndex(double value, uint64_t* out);

/**
 * Writes the meta words of one received datagram (offset, length, family, port, address words) from the
 * kernel's source address. An IPv4-mapped IPv6 source is reported as family 4. Returns false (and writes
 * nothing but zeros for the address) for a source of another family or a too-short address.
 */
bool UdpWriteMeta(int32_t* entry, uint32_t offset, uint32_t length, const sockaddr_storage& from, socklen_t fromLen);

class UdpSocket {
 public:
  UdpSocket();
  ~UdpSocket();
  UdpSocket(const UdpSocket&) = delete;
  UdpSocket& operator=(const UdpSocket&) = delete;

  /**
   * Opens and binds a non-blocking socket to an IPv4 or IPv6 literal (IPv6: dual-stack), with SO_RCVBUF and
   * SO_SNDBUF set to bufferBytes when it is > 0 (best effort). Returns the bound port, or -errno
   * (-EINVAL for an address that is not a literal, -EISCONN when already bound, -EBADF once closed).
   */
  int Bind(const char* ip, int port, int bufferBytes);
  /** The socket's fd, or -1 before bind and after Close. */
  int Fd() const { return fd_; }
  /** AF_INET or AF_INET6 once bound, else 0. */
  int Family() const { return family_; }

  /**
   * One recvmmsg(MSG_DONTWAIT) of up to kUdpMaxBatch datagrams into the scratch slots. Returns how many
   * arrived (truncated ones included: Pack skips them), 0 when none is waiting, or -errno.
   */
  int Receive();
  /** Arena bytes the datagrams of the last Receive need (each rounded up to 8). */
  size_t PendingBytes() const;
  /**
   * Copies the datagrams of the last Receive to arena[*used, cap) (8-byte aligned offsets; nothing is
   * written past cap: datagrams that do not fit are not delivered), writes one meta entry for each into
   * meta (metaWords words, with each one's age since the kernel received it), advances *used and returns
   * how many were delivered. Truncated datagrams and
   * those of an unknown address family are skipped (the first counted in `truncated`).
   */
  int Pack(uint8_t* arena, size_t cap, size_t* used, int32_t* meta, size_t metaWords);

  /** A destination for an IPv4 address (host order) and port: false for port 0 or out of range. */
  bool Dest4(uint32_t ip, int64_t port, UdpDest* dest) const;
  /** The same for 16 bytes of IPv6 address (IPv4-mapped ones work on IPv4 sockets). */
  bool Dest6(const uint8_t* ip, size_t ipLen, int64_t port, UdpDest* dest) const;
  /**
   * Queues frame[offset, offset + length) (frameLen: the frame's size) to dest: a bad range, a length over
   * kUdpMaxSend, a bad dest or a closed socket drop it (counted in sendDropped). A full queue is written
   * first. Returns true when it was queued.
   */
  bool Queue(const uint8_t* frame, size_t frameLen, uint64_t offset, uint64_t length, const UdpDest* dest);
  /**
   * Room for one datagram of up to maxLen bytes to dest at the end of the send queue (a full queue is
   * written first), for a caller that builds the datagram in place (the SRTP send path); null (counted in
   * sendDropped) for a bad dest, maxLen over kUdpMaxSend or a closed socket. Nothing is queued until
   * Commit; another Reserve or a Flush forgets an uncommitted reservation.
   */
  uint8_t* Reserve(size_t maxLen, const UdpDest* dest);
  /** Queues the reserved datagram with its final length (at most the maxLen reserved). */
  void Commit(size_t len);
  /** Writes everything queued with sendmmsg (refused datagrams are counted and skipped); returns how many went out. */
  int Flush();
  /** Datagrams waiting in the send queue. */
  int Queued() const { return queued_; }

  /** Writes what is queued, then closes the fd (idempotent). */
  void Close();
  const UdpCounters& Counters() const { return counters_; }

 private:
  int fd_ = -1;
  int family_ = 0;
  bool closed_ = false;
  UdpCounters counters_;

  // Receive: scratch slots and the kernel's view of them; received_ is the count of the last Receive.
  std::unique_ptr<uint8_t[]> scratch_;
  mmsghdr recvMsgs_[kUdpMaxBatch];
  iovec recvIov_[kUdpMaxBatch];
  sockaddr_storage recvFrom_[kUdpMaxBatch];
  alignas(8) uint8_t recvControl_[kUdpMaxBatch][kUdpControlBytes];
  int received_ = 0;

  // Send: datagrams copied into sendBuffer_, one message each.
  std::unique_ptr<uint8_t[]> sendBuffer_;
  size_t sendUsed_ = 0;
  mmsghdr sendMsgs_[kUdpSendQueue];
  iovec sendIov_[kUdpSendQueue];
  UdpDest sendDest_[kUdpSendQueue];
  int queued_ = 0;
  // A reservation (Reserve → Commit): where it starts, its room and its destination.
  bool reserved_ = false;
  size_t reservedAt_ = 0;
  size_t reservedMax_ = 0;
  UdpDest reservedDest_;
};

}  // namespace shoal
