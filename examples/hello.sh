#!/bin/sh
# Prints where it runs: under QEMU an arm64 image says aarch64 on an x86-64 host.
echo "hello from $(uname -m) ($APP_ENV image, $(cat /app/build-info))"
