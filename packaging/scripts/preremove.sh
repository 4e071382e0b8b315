#!/bin/sh
# chronik package: pre-remove.
#   deb prerm: "remove" on removal ("upgrade", "deconfigure", "failed-upgrade" otherwise)
#   rpm %preun: $1 = 0 on erase, 1 on upgrade
# Stops and disables the broker on removal only; an upgrade restarts it from
# postinstall instead. Data in /var/lib/chronik is kept.
set -e

case "$1" in
    remove|0)
        if [ -d /run/systemd/system ]; then
            systemctl stop chronik.service >/dev/null 2>&1 || true
            systemctl disable chronik.service >/dev/null 2>&1 || true
        fi
        ;;
    *)
        ;;
esac
exit 0
