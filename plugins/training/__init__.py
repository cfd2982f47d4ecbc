"""Training: the yearly training the Sở KH&CN / Chi cục TĐC runs for agencies and communes (seed 004): a
per-province catalogue of kinds, sessions with invitations and registration, attendance and exam scores,
numbered certificates with expiry and revocation, coverage of agencies, and the internal-auditor certificates
that qualify inspectors (fact `training.valid_internal_auditor`)."""

NAME = "training"
VERSION = "1.0.0"
