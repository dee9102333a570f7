#!/usr/bin/env bash
# install-deps.sh: install the Debian packages cllm's build and tests need.
# Idempotent and quiet when everything is present.
set -euo pipefail
pkgs=(build-essential cmake pkg-config clang libclang-rt-14-dev
      libmicrohttpd-dev libjansson-dev libcurl4-openssl-dev libpcre2-dev libutf8proc-dev
      python3 python3-numpy curl)
# server tests: the openai/@anthropic-ai/sdk npm clients and the web page in Chromium
# (node and npm may come from a nodesource build whose nodejs bundles npm and
# conflicts with Debian's npm package: install them only when the commands are missing)
pkgs+=(chromium)
# cllm chat: line editing (GNU readline); its terminal test drives it in tmux
pkgs+=(libreadline-dev tmux)
command -v node >/dev/null 2>&1 || pkgs+=(nodejs)
command -v npm >/dev/null 2>&1 || pkgs+=(npm)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
