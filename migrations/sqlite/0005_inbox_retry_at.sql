-- A delivery that has to wait (a CRM event about a deal whose binding is not saved yet) is set
-- aside until `retry_at` (ms), so a crowd of them cannot fill every pass and hold up the rest.
ALTER TABLE inbox ADD COLUMN retry_at INTEGER;
