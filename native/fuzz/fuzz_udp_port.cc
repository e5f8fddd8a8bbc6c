// libFuzzer harness of the native UDP port's core (native/src/udp_port.h): the input drives sends from one
// loopback UdpSocket to another with arbitrary offsets, lengths, addresses and ports (the checks of Queue,
// UdpToIndex, Dest4/Dest6), receives them with recvmmsg and packs them into arenas of arbitrary size
// (Pack must never write past the capacity it is given), and feeds raw source addresses to UdpWriteMeta.
// Every delivered datagram must be one that was queued, in order, with the right source.
// What it must not do: depend on anything but the core (no Node-API), or keep datagrams across inputs.
#include <arpa/inet.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "udp_port.h"

namespace {

using shoal::UdpSocket;

/** Reads the input front to back; past its end everything reads as zero. */
struct Input {
  const uint8_t* data;
  size_t size;
  size_t at = 0;
  uint8_t Byte() { return at < size ? data[at++] : 0; }
  uint32_t U16() { return static_cast<uint32_t>(Byte()) << 8 | Byte(); }
  double Double() {
    uint64_t bits = 0;
    for (int i = 0; i < 8; i++) bits = bits << 8 | Byte();
    double d;
    std::memcpy(&d, &bits, sizeof d);
    return d;
  }
  size_t Left() const { return size - at; }
};

struct Pair {
  UdpSocket tx;
  UdpSocket rx;
  int txPort = 0;
  int rxPort = 0;
};

Pair* Sockets() {
  static Pair* pair = [] {
    auto* p = new Pair();
    p->txPort = p->tx.Bind("127.0.0.1", 0, 8 << 20);
    p->rxPort = p->rx.Bind("127.0.0.1", 0, 8 << 20);
    if (p->txPort <= 0 || p->rxPort <= 0) __builtin_trap();
    return p;
  }();
  return pair;
}

/** Receives everything waiting at rx into arenas of `cap` bytes; each delivered one must be next in `expected`. */
void Drain(Pair* p, Input& in, const std::vector<std::vector<uint8_t>>& expected) {
  size_t next = 0;
  int32_t meta[shoal::kUdpMaxBatch * shoal::kUdpMetaWords];
  for (;;) {
    int n = p->rx.Receive();
    if (n <= 0) break;
    size_t cap = in.U16() * 4;  // up to 256 KiB: some batches do not fit, and Pack must stop at the edge
    size_t used = in.Byte() % 64;
    std::unique_ptr<uint8_t[]> arena(new uint8_t[cap == 0 ? 1 : cap]);
    size_t metaWords = (in.Byte() % (shoal::kUdpMaxBatch + 1)) * shoal::kUdpMetaWords;
    size_t start = used;
    int delivered = p->rx.Pack(arena.get(), cap, &used, meta, metaWords);
    if (delivered < 0 || delivered > n || static_cast<size_t>(delivered) * shoal::kUdpMetaWords > metaWords || used > cap) __builtin_trap();
    for (int i = 0; i < delivered; i++) {
      const int32_t* m = meta + i * shoal::kUdpMetaWords;
      size_t off = static_cast<uint32_t>(m[0]), len = static_cast<uint32_t>(m[1]);
      if (off % 8 != 0 || off < start || off > cap || len > cap - off) __builtin_trap();
      if (m[2] != 4 || m[3] != p->txPort || static_cast<uint32_t>(m[4]) != 0x7f000001u) __builtin_trap();
      while (next < expected.size() && (expected[next].size() != len || (len > 0 && std::memcmp(expected[next].data(), arena.get() + off, len) != 0))) next++;
      if (next == expected.size()) __builtin_trap();  // not a datagram that was sent, or out of order
      next++;
    }
  }
}

/** Raw source addresses: any family and length must give a defined answer and no read past the storage. */
void FuzzMeta(Input& in) {
  sockaddr_storage from;
  std::memset(&from, 0, sizeof from);
  auto* raw = reinterpret_cast<uint8_t*>(&from);
  for (size_t i = 0; i < sizeof from && in.Left() > 0; i++) raw[i] = in.Byte();
  from.ss_family = in.Byte() % 2 ? AF_INET6 : (in.Byte() % 2 ? AF_INET : in.Byte());
  socklen_t len = static_cast<socklen_t>(in.Byte() % (sizeof from + 1));
  int32_t entry[shoal::kUdpMetaWords];
  bool ok = shoal::UdpWriteMeta(entry, 0, 0, from, len);
  if (ok && entry[2] != 4 && entry[2] != 6) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Pair* p = Sockets();
  Input in{data, size};
  std::vector<std::vector<uint8_t>> expected;
  int sends = 0;
  while (in.Left() > 0 && sends < 64) {
    uint8_t op = in.Byte();
    if (op % 4 == 3) {
      FuzzMeta(in);
      continue;
    }
    // A frame made of the next bytes, then an offset and a length into it as JavaScript numbers.
    size_t frameLen = in.U16() % (in.Left() + 1);
    std::vector<uint8_t> frame(data + in.at, data + in.at + frameLen);
    in.at += frameLen;
    bool exact = in.Byte() % 2;
    double offsetArg = exact ? static_cast<double>(in.Byte() % (frameLen + 1)) : in.Double();
    double lengthArg = exact ? -1 : in.Double();
    uint64_t offset = 0, length = 0;
    bool indexOk = shoal::UdpToIndex(offsetArg, &offset);
    if (exact) length = frameLen - offset;
    else indexOk = indexOk && shoal::UdpToIndex(lengthArg, &length);
    shoal::UdpDest dest;
    bool destOk;
    if (op % 4 == 0) {
      // Only the receiver's port or invalid ones: a fuzzer must not spray other sockets of the machine.
      destOk = p->tx.Dest4(0x7f000001u, op & 0x80 ? (in.Byte() % 2 ? 0 : 65536 + in.Byte()) : p->rxPort, &dest);
    } else if (op % 4 == 1) {
      uint8_t ip6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1};
      if (op & 0x40) ip6[in.Byte() % 12] ^= 1;  // not IPv4-mapped any more: refused by the IPv4 socket
      destOk = p->tx.Dest6(ip6, 16 - (op & 0x20 ? 1 : 0), p->rxPort, &dest);
    } else {
      destOk = false;
    }
    const uint8_t* base = frameLen > 0 ? frame.data() : nullptr;
    bool queued = p->tx.Queue(base, frameLen, indexOk ? offset : UINT64_MAX, indexOk ? length : UINT64_MAX, destOk ? &dest : nullptr);
    bool valid = indexOk && destOk && offset <= frameLen && length <= frameLen - offset && length <= shoal::kUdpMaxSend;
    if (queued != valid) __builtin_trap();
    if (queued) expected.emplace_back(frame.begin() + static_cast<long>(offset), frame.begin() + static_cast<long>(offset + length));
    sends++;
  }
  p->tx.Flush();
  Drain(p, in, expected);
  return 0;
}
