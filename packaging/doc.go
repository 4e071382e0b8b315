// Package packaging holds the files the .deb and .rpm packages install
// (built by nfpm from .goreleaser.yaml) and the tests that keep them honest:
//
//	chronik.toml             → /etc/chronik/chronik.toml (config|noreplace)
//	systemd/chronik.service  → /lib/systemd/system/chronik.service
//	scripts/*.sh             → maintainer scripts (pre/post install/remove)
//
// The default config must load with broker/config exactly as
// `chronik-server start` loads it, must equal the built-in defaults except
// for data_dir, and its commented-out cluster keys must form a valid cluster
// configuration when uncommented. The package has no Go API.
package packaging
