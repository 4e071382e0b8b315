#!/bin/sh
# chronik package: post-remove (deb postrm: remove|purge|upgrade ...; rpm %postun: 0|1).
# Makes systemd forget the removed unit. The chronik user and /var/lib/chronik
# (the broker's data) are deliberately kept, even on purge: delete them by hand.
set -e

case "$1" in
    remove|purge|0)
        if [ -d /run/systemd/system ]; then
            systemctl daemon-reload >/dev/null 2>&1 || true
        fi
        ;;
    *)
        ;;
esac
exit 0
