// Package crashpoint marks the steps of allot's crash-safe writes, so that
// the crash tests can kill a process at each of them. In a normal build a
// crash point does nothing and costs nothing. Built with the tag
// allot_crashtest, the process kills itself with SIGKILL at the point that
// $ALLOT_CRASH_AT names ("renamed", or "renamed#2" for its second pass).
package crashpoint

// Names of the crash points, in the order a write passes them.
const (
	Locked      = "locked"       // wallet lock taken, nothing read yet
	Prepared    = "prepared"     // the new wallet content is ready, nothing written
	TempCreated = "temp-created" // temporary file created, empty
	TempWritten = "temp-written" // temporary file written, not synced
	TempSynced  = "temp-synced"  // temporary file synced and closed
	Published   = "published"    // renamed or linked into place
	DirSynced   = "dir-synced"   // the directory synced: the write is durable
	Recorded    = "recorded"     // the wallet change is durable, the command's other output not yet written

	// A git wallet's commit, after the file is durable.
	CommitWritten = "commit-written" // the commit's objects are written, not synced, the branch not moved
	Committed     = "committed"      // the branch names the new commit
)

// All lists every crash point.
var All = []string{Locked, Prepared, TempCreated, TempWritten, TempSynced, Published, DirSynced, Recorded}

// Git lists the crash points of a git wallet's commit.
var Git = []string{CommitWritten, Committed}
