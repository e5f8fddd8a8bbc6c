// Placeholder until the SRTP part lands: registers nothing.
#include "addon.h"
namespace shoal {
void InitSrtp(Napi::Env, Napi::Object) {}
}  // namespace shoal
