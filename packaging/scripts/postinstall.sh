#!/bin/sh
# chronik package: post-install.
#   deb postinst: "configure" with $2 = previously configured version ("" on first install)
#   rpm %post:    $1 = 1 on first install, 2 on upgrade
# First install: create the data directory and enable the unit, but do NOT
# start it: configure node_id/seed_nodes (cluster) or review chronik.toml first.
# Upgrade: restart the broker only if it is running (try-restart).
set -e

action=install
case "$1" in
    configure)
        if [ -n "$2" ]; then action=upgrade; fi
        ;;
    1)
        action=install
        ;;
    2)
        action=upgrade
        ;;
    abort-upgrade|abort-remove|abort-deconfigure)
        exit 0
        ;;
    *)
        ;;
esac

install -d -o chronik -g chronik -m 0750 /var/lib/chronik

if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || true
    if [ "$action" = upgrade ]; then
        systemctl try-restart chronik.service >/dev/null 2>&1 || true
    else
        systemctl enable chronik.service >/dev/null 2>&1 || true
    fi
fi

if [ "$action" = install ]; then
    echo "chronik: installed, not started. Review /etc/chronik/chronik.toml, then: systemctl start chronik"
fi
exit 0
