"""Evidence: files attached to any record (decisions, inspection records, audit reports, photos), kept in S3 or
a local folder, streamed, checksummed, versioned and deleted softly until a per-tenant retention has passed."""

NAME = "evidence"
VERSION = "1.0.0"
