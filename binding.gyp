# Shoal's native data plane (native/src, a Node-API addon): built by scripts/build-native.mjs at
# npm install/ci with node-gyp against the running Node's own headers (no download). Every .cc file in
# native/src is compiled; OpenSSL comes from the Node process (its headers ship with Node's).
{
  "targets": [
    {
      "target_name": "shoal_native",
      "sources": ["<!@(node -p \"require('fs').readdirSync('native/src').filter((f) => f.endsWith('.cc')).sort().map((f) => 'native/src/' + f).join(' ')\")"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED", "NAPI_CPP_EXCEPTIONS", "OPENSSL_API_COMPAT=0x10100000L"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-std=c++17", "-O2", "-fexceptions", "-Wall", "-Wextra", "-Wno-unused-parameter", "-fvisibility=hidden"]
    }
  ]
}
