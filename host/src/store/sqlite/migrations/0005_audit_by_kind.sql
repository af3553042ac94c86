-- Version 5: an index of the audit log by kind and time, so the entries of one kind since a
-- time (the mappings `plugins test --since` runs again) are found without reading the log.
CREATE INDEX audit_kind_at ON audit (kind, at);
