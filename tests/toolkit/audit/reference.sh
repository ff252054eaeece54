#!/bin/sh
# The reference client driven through its commands, as a user's script would: upload, ask for a video, edit it,
# export it. nemo-contract reads NEMO_API_URL and keeps its token and session in $XDG_CONFIG_HOME between commands.
#
#   reference.sh CLIP      (REFERENCE_CLIENT names the nemo-contract command when it is not on PATH)
set -e
nc=${REFERENCE_CLIENT:-nemo-contract}
"$nc" --no-auto-export upload "$1"
"$nc" --no-auto-export say "make a 10-second video from my clip with music and a title"
"$nc" --no-auto-export say "add a title that says Hello"
"$nc" --no-auto-export export
