#!/bin/sh
# Installs Shoal's runtime into one directory: the files the server process needs (package.json, the
# lockfile, tsconfig.json, src/, the native data plane (binding.gyp, native/, its build script), the health
# probe) and the production dependencies from the lockfile
# (`npm ci --omit=dev`; tsx is a runtime dependency, it runs src/main.ts). deploy/Dockerfile builds its
# image with this script and .ci/run runs it and starts a server from the result, so the image recipe is
# exercised on every CI run. Usage: deploy/install.sh TARGET_DIR (e.g. /app, /opt/shoal).
set -eu

repo=$(cd "$(dirname "$0")/.." && pwd)
target=${1:?usage: deploy/install.sh TARGET_DIR}
mkdir -p "$target"
target=$(cd "$target" && pwd)
if [ "$target" = "$repo" ]; then
  echo "deploy/install.sh: TARGET_DIR must not be the repository itself" >&2
  exit 2
fi

# A clean copy: files removed from the repository must not survive in an older install.
rm -rf "$target/src" "$target/deploy" "$target/node_modules"
cp "$repo/package.json" "$repo/package-lock.json" "$repo/tsconfig.json" "$repo/binding.gyp" "$target/"
cp -R "$repo/src" "$target/src"
# The native data plane's sources and its build script: npm ci builds build/Release/shoal_native.node.
rm -rf "$target/native" "$target/scripts" "$target/build"
cp -R "$repo/native" "$target/native"
mkdir -p "$target/scripts"
cp "$repo/scripts/build-native.mjs" "$target/scripts/"
mkdir -p "$target/deploy"
cp "$repo/deploy/healthcheck.mjs" "$target/deploy/"

cd "$target"
npm ci --omit=dev --no-audit --no-fund --loglevel=error

# Fail here, not at the first request, when src/ needs a package the production install left out.
node --import tsx --input-type=module -e "await import('./src/server.ts'); await import('tsx/esm/api');"
echo "deploy/install.sh: Shoal $(node -p "require('./package.json').version") installed in $target (node $(node --version))"
