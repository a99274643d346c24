#!/bin/sh
# Run by ansible.builtin.script inside a busybox container (no Python there): it got
# here through the connection plugin's put_file. Prints what the test checks.
printf 'path=%s\n' "$0"
printf 'args=%s|%s\n' "$1" "$2"
printf 'uid=%s\n' "$(id -u)"
printf 'host=%s\n' "$(hostname)"
