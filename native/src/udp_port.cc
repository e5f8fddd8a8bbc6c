// The native UDP port's core (udp_port.h): socket and bind, recvmmsg into scratch slots and the packing
// of a batch into the arena and meta array, the bounded send queue and sendmmsg. Pure POSIX.
// What it must not do: allocate per packet, trust a length, offset or address it is handed, or block.
#include "udp_port.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <ctime>

namespace shoal {

namespace {

/** 2^53: the first integer a double cannot tell from its neighbour. */
constexpr double kMaxSafeIndex = 9007199254740992.0;

uint32_t BigEndianWord(const uint8_t* b) {
  return (static_cast<uint32_t>(b[0]) << 24) | (static_cast<uint32_t>(b[1]) << 16) | (static_cast<uint32_t>(b[2]) << 8) | b[3];
}

bool IsV4Mapped(const uint8_t* b) {
  static constexpr uint8_t kPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return std::memcmp(b, kPrefix, sizeof kPrefix) == 0;
}

}  // namespace

bool UdpToIndex(double value, uint64_t* out) {
  if (!(value >= 0 && value < kMaxSafeIndex) || std::floor(value) != value) return false;
  *out = static_cast<uint64_t>(value);
  return true;
}

bool UdpWriteMeta(int32_t* entry, uint32_t offset, uint32_t length, const sockaddr_storage& from, socklen_t fromLen) {
  entry[0] = static_cast<int32_t>(offset);
  entry[1] = static_cast<int32_t>(length);
  for (int i = 4; i < kUdpMetaWords; i++) entry[i] = 0;
  if (from.ss_family == AF_INET && fromLen >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
    const auto& a = reinterpret_cast<const sockaddr_in&>(from);
    entry[2] = 4;
    entry[3] = ntohs(a.sin_port);
    entry[4] = static_cast<int32_t>(ntohl(a.sin_addr.s_addr));
    return true;
  }
  if (from.ss_family == AF_INET6 && fromLen >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
    const auto& a = reinterpret_cast<const sockaddr_in6&>(from);
    const uint8_t* b = a.sin6_addr.s6_addr;
    entry[3] = ntohs(a.sin6_port);
    if (IsV4Mapped(b)) {
      entry[2] = 4;
      entry[4] = static_cast<int32_t>(BigEndianWord(b + 12));
    } else {
      entry[2] = 6;
      for (int i = 0; i < 4; i++) entry[4 + i] = static_cast<int32_t>(BigEndianWord(b + 4 * i));
    }
    return true;
  }
  entry[2] = 0;
  entry[3] = 0;
  return false;
}

UdpSocket::UdpSocket() : scratch_(new uint8_t[kUdpSlotBytes * kUdpMaxBatch]), sendBuffer_(new uint8_t[kUdpSendBufferBytes]) {
  std::memset(recvMsgs_, 0, sizeof recvMsgs_);
  std::memset(sendMsgs_, 0, sizeof sendMsgs_);
  for (int i = 0; i < kUdpMaxBatch; i++) {
    recvIov_[i].iov_base = scratch_.get() + kUdpSlotBytes * i;
    recvIov_[i].iov_len = kUdpSlotBytes;
    recvMsgs_[i].msg_hdr.msg_iov = &recvIov_[i];
    recvMsgs_[i].msg_hdr.msg_iovlen = 1;
    recvMsgs_[i].msg_hdr.msg_name = &recvFrom_[i];
  }
  for (int i = 0; i < kUdpSendQueue; i++) {
    sendMsgs_[i].msg_hdr.msg_iov = &sendIov_[i];
    sendMsgs_[i].msg_hdr.msg_iovlen = 1;
    sendMsgs_[i].msg_hdr.msg_name = &sendDest_[i].addr;
  }
}

UdpSocket::~UdpSocket() { Close(); }

int UdpSocket::Bind(const char* ip, int port, int bufferBytes) {
  if (closed_) return -EBADF;
  if (fd_ >= 0) return -EISCONN;
  if (port < 0 || port > 65535) return -EINVAL;
  sockaddr_storage addr;
  std::memset(&addr, 0, sizeof addr);
  socklen_t addrLen;
  int family;
  auto* a4 = reinterpret_cast<sockaddr_in*>(&addr);
  auto* a6 = reinterpret_cast<sockaddr_in6*>(&addr);
  if (inet_pton(AF_INET, ip, &a4->sin_addr) == 1) {
    family = AF_INET;
    a4->sin_family = AF_INET;
    a4->sin_port = htons(static_cast<uint16_t>(port));
    addrLen = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, ip, &a6->sin6_addr) == 1) {
    family = AF_INET6;
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons(static_cast<uint16_t>(port));
    addrLen = sizeof(sockaddr_in6);
  } else {
    return -EINVAL;
  }
  int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  if (family == AF_INET6) {
    int off = 0;
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
  }
  if (bufferBytes > 0) {
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufferBytes, sizeof bufferBytes);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bufferBytes, sizeof bufferBytes);
  }
  // Each datagram carries its kernel receive time (transport-cc arrival times that do not include the
  // time it waited for the event loop); best effort: without it ages are -1.
  const int on = 1;
  setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), addrLen) != 0) {
    int err = errno;
    close(fd);
    return -err;
  }
  sockaddr_storage bound;
  socklen_t boundLen = sizeof bound;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &boundLen) != 0) {
    int err = errno;
    close(fd);
    return -err;
  }
  fd_ = fd;
  family_ = family;
  const auto& b = reinterpret_cast<const sockaddr_in&>(bound);  // sin_port and sin6_port share their place
  return ntohs(b.sin_port);
}

int UdpSocket::Receive() {
  received_ = 0;
  if (fd_ < 0) return -EBADF;
  for (int i = 0; i < kUdpMaxBatch; i++) {
    recvMsgs_[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
    recvMsgs_[i].msg_hdr.msg_flags = 0;
    recvMsgs_[i].msg_len = 0;
    recvMsgs_[i].msg_hdr.msg_control = recvControl_[i];
    recvMsgs_[i].msg_hdr.msg_controllen = kUdpControlBytes;
  }
  int n;
  do {
    n = recvmmsg(fd_, recvMsgs_, kUdpMaxBatch, MSG_DONTWAIT, nullptr);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -errno;
  if (n > 0) counters_.batches++;
  received_ = n;
  return n;
}

size_t UdpSocket::PendingBytes() const {
  size_t total = 0;
  for (int i = 0; i < received_; i++) {
    const mmsghdr& m = recvMsgs_[i];
    if (!(m.msg_hdr.msg_flags & MSG_TRUNC)) total += UdpAlign8(m.msg_len);
  }
  return total;
}

/** µs from the datagram's SCM_TIMESTAMPNS to `now` (CLOCK_REALTIME, as the kernel stamps), or -1. */
static int32_t AgeUs(const msghdr& h, const timespec& now) {
  if (h.msg_flags & MSG_CTRUNC) return -1;
  for (cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr; c = CMSG_NXTHDR(const_cast<msghdr*>(&h), c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_TIMESTAMPNS || c->cmsg_len < CMSG_LEN(sizeof(timespec))) continue;
    timespec at;
    std::memcpy(&at, CMSG_DATA(c), sizeof at);
    const int64_t ns = (static_cast<int64_t>(now.tv_sec) - at.tv_sec) * 1000000000ll + (now.tv_nsec - at.tv_nsec);
    if (ns < 0) return 0;  // the wall clock stepped back: arrived just now, as far as can be told
    return ns / 1000 > 0x7fffffffll ? 0x7fffffff : static_cast<int32_t>(ns / 1000);
  }
  return -1;
}

int UdpSocket::Pack(uint8_t* arena, size_t cap, size_t* used, int32_t* meta, size_t metaWords) {
  int delivered = 0;
  timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  size_t at = UdpAlign8(*used);
  for (int i = 0; i < received_; i++) {
    const mmsghdr& m = recvMsgs_[i];
    if ((m.msg_hdr.msg_flags & MSG_TRUNC) || m.msg_len > kUdpSlotBytes) {
      counters_.truncated++;
      continue;
    }
    size_t len = m.msg_len;
    if (at > cap || len > cap - at || static_cast<size_t>(delivered + 1) * kUdpMetaWords > metaWords) continue;
    int32_t* entry = meta + static_cast<size_t>(delivered) * kUdpMetaWords;
    if (!UdpWriteMeta(entry, static_cast<uint32_t>(at), static_cast<uint32_t>(len), recvFrom_[i], m.msg_hdr.msg_namelen)) continue;
    entry[kUdpAgeMetaWord] = AgeUs(m.msg_hdr, now);
    std::memcpy(arena + at, recvIov_[i].iov_base, len);
    counters_.received++;
    counters_.receivedBytes += len;
    delivered++;
    at = UdpAlign8(at + len);
  }
  received_ = 0;
  *used = at > cap ? cap : at;
  return delivered;
}

bool UdpSocket::Dest4(uint32_t ip, int64_t port, UdpDest* dest) const {
  if (port <= 0 || port > 65535 || family_ == 0) return false;
  std::memset(&dest->addr, 0, sizeof dest->addr);
  if (family_ == AF_INET) {
    dest->addr.v4.sin_family = AF_INET;
    dest->addr.v4.sin_port = htons(static_cast<uint16_t>(port));
    dest->addr.v4.sin_addr.s_addr = htonl(ip);
    dest->len = sizeof(sockaddr_in);
  } else {
    uint8_t* b = dest->addr.v6.sin6_addr.s6_addr;
    b[10] = 0xff;
    b[11] = 0xff;
    uint32_t be = htonl(ip);
    std::memcpy(b + 12, &be, 4);
    dest->addr.v6.sin6_family = AF_INET6;
    dest->addr.v6.sin6_port = htons(static_cast<uint16_t>(port));
    dest->len = sizeof(sockaddr_in6);
  }
  return true;
}

bool UdpSocket::Dest6(const uint8_t* ip, size_t ipLen, int64_t port, UdpDest* dest) const {
  if (ip == nullptr || ipLen != 16 || port <= 0 || port > 65535 || family_ == 0) return false;
  if (family_ == AF_INET) {
    if (!IsV4Mapped(ip)) return false;
    return Dest4(BigEndianWord(ip + 12), port, dest);
  }
  std::memset(&dest->addr, 0, sizeof dest->addr);
  dest->addr.v6.sin6_family = AF_INET6;
  dest->addr.v6.sin6_port = htons(static_cast<uint16_t>(port));
  std::memcpy(dest->addr.v6.sin6_addr.s6_addr, ip, 16);
  dest->len = sizeof(sockaddr_in6);
  return true;
}

bool UdpSocket::Queue(const uint8_t* frame, size_t frameLen, uint64_t offset, uint64_t length, const UdpDest* dest) {
  bool ok = fd_ >= 0 && dest != nullptr && dest->len > 0 && (frame != nullptr || frameLen == 0) && offset <= frameLen &&
            length <= frameLen - offset && length <= kUdpMaxSend;
  if (!ok) {
    counters_.sendDropped++;
    return false;
  }
  if (queued_ == kUdpSendQueue || UdpAlign8(sendUsed_) + length > kUdpSendBufferBytes) Flush();
  size_t at = UdpAlign8(sendUsed_);
  if (length > 0) std::memcpy(sendBuffer_.get() + at, frame + offset, length);
  sendIov_[queued_].iov_base = sendBuffer_.get() + at;
  sendIov_[queued_].iov_len = length;
  sendDest_[queued_] = *dest;
  sendMsgs_[queued_].msg_hdr.msg_namelen = dest->len;
  sendMsgs_[queued_].msg_len = 0;
  queued_++;
  sendUsed_ = at + length;
  return true;
}

uint8_t* UdpSocket::Reserve(size_t maxLen, const UdpDest* dest) {
  reserved_ = false;
  if (fd_ < 0 || dest == nullptr || dest->len == 0 || maxLen > kUdpMaxSend) {
    counters_.sendDropped++;
    return nullptr;
  }
  if (queued_ == kUdpSendQueue || UdpAlign8(sendUsed_) + maxLen > kUdpSendBufferBytes) Flush();
  reserved_ = true;
  reservedAt_ = UdpAlign8(sendUsed_);
  reservedMax_ = maxLen;
  reservedDest_ = *dest;
  return sendBuffer_.get() + reservedAt_;
}

void UdpSocket::Commit(size_t len) {
  if (!reserved_ || len > reservedMax_ || queued_ == kUdpSendQueue) return;
  reserved_ = false;
  sendIov_[queued_].iov_base = sendBuffer_.get() + reservedAt_;
  sendIov_[queued_].iov_len = len;
  sendDest_[queued_] = reservedDest_;
  sendMsgs_[queued_].msg_hdr.msg_namelen = reservedDest_.len;
  sendMsgs_[queued_].msg_len = 0;
  queued_++;
  sendUsed_ = reservedAt_ + len;
}

int UdpSocket::Flush() {
  reserved_ = false;
  int start = 0;
  int sent = 0;
  while (start < queued_ && fd_ >= 0) {
    counters_.sendCalls++;
    int n = sendmmsg(fd_, sendMsgs_ + start, static_cast<unsigned>(queued_ - start), MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      counters_.sendErrors++;  // this one was refused; the rest may still go
      start++;
      continue;
    }
    if (n == 0) break;
    for (int i = start; i < start + n; i++) counters_.sentBytes += sendMsgs_[i].msg_len;
    counters_.sent += static_cast<uint64_t>(n);
    sent += n;
    start += n;
  }
  queued_ = 0;
  sendUsed_ = 0;
  return sent;
}

void UdpSocket::Close() {
  if (fd_ >= 0) {
    Flush();
    close(fd_);
  }
  fd_ = -1;
  closed_ = true;
  received_ = 0;
}

}  // namespace shoal
