"""Operating the shared store: backups and restores, the apply log, drift audits, the
feature catalog and materialization."""
