// Placeholder until the UDP part lands: registers nothing.
#include "addon.h"
namespace shoal {
void InitUdpPort(Napi::Env, Napi::Object) {}
}  // namespace shoal
