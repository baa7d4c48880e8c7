#!/bin/sh
# expect.sh STATUS REGEX COMMAND [ARG...]
# Runs COMMAND; succeeds when it exits with STATUS and a line of its output
# (stdout and stderr together) matches the extended regular expression
# REGEX. Prints the output either way, so a failing test shows it.
status=$1 regex=$2
shift 2
out=$("$@" 2>&1)
rc=$?
printf '%s\n' "$out"
if [ "$rc" -ne "$status" ]; then
    echo "expect.sh: exit status $rc, expected $status" >&2
    exit 1
fi
if ! printf '%s\n' "$out" | grep -Eq -- "$regex"; then
    echo "expect.sh: no line matches '$regex'" >&2
    exit 1
fi
