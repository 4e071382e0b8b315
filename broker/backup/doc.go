// Package backup writes and restores backups of a broker's data directory.
//
// A backup is a gzip-compressed tar archive whose paths are relative to the
// data directory, exactly what `tar -C <data_dir> -czf backup.tar.gz wal`
// would hold:
//
//	wal/                                    directories
//	wal/__meta/wal_0_00000001.log           metadata log segments
//	wal/<topic>/<partition>/wal_<p>_<seq>.log
//	wal/<topic>/<partition>/log-start-offset
//	manifest.json                           last entry
//
// The manifest (Manifest) records the format version, creation time, Chronik
// version and WAL format, the topics with partition counts and configs, each
// partition's high watermark and log start offset, committed group offsets,
// and the size and SHA-256 of every file. Topics and offsets are derived from
// the archived bytes themselves (the metadata log is replayed), so the
// manifest always describes exactly what a restore brings back.
//
// Sources: FromDataDir reads a stopped data directory (the caller makes sure
// no broker holds it); FromCut reads a storage.Cut of a running broker — all
// logs, including the metadata log, captured at one instant, each segment
// cut at its durable size — so an online backup is a consistent snapshot
// while producers keep writing.
//
// Write streams an archive from a Source after checking every WAL record's
// checksum (damage is refused; a torn final record is left out with a
// warning in the manifest). Verify checks an archive against its manifest.
// Restore extracts an archive into an empty or new data directory: it
// extracts into <dir>.tmp-XXXX next to it, verifies every file's size and
// SHA-256 against the manifest (archives without a manifest, such as a
// manual tar of the wal directory, get every WAL segment verified instead),
// fsyncs, and only then renames the result into place.
package backup
