#!/bin/sh
# chronik package: pre-install (deb preinst: install|upgrade ...; rpm %pre: 1|2).
# Creates the chronik system user and group that run the broker. Idempotent.
set -e

if ! getent group chronik >/dev/null 2>&1; then
    groupadd --system chronik
fi
if ! getent passwd chronik >/dev/null 2>&1; then
    useradd --system --gid chronik --home-dir /var/lib/chronik --no-create-home \
        --shell /usr/sbin/nologin --comment "Chronik Stream broker" chronik
fi
exit 0
