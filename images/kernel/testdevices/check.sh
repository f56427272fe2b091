#!/bin/bash
# Rebuilds the test kernel from scratch and says whether the result is
# bit-for-bit identical to the committed vmlinuz and config (exit 1 if not).
# This is what `make test-kernel` runs; see README.md.
exec "$(dirname "${BASH_SOURCE[0]}")/build.sh" check
